"""Outcome tracking: what each model said about each bar, joined with what the market did next.

The prediction log holds a row per request, and clients poll: one bar asked about 10,000 times would
otherwise outweigh every other bar in the live accuracy. So the log is reduced to one prediction per
(model version, role, bar), the first one logged (what the model answered when the bar was new), and
every figure is per bar; the request count is kept beside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Engine, func, select

from alphapulse.store import PREDICTIONS
from alphapulse.store.queries import load_candles
from alphapulse.timeframes import timeframe_delta

#: Two-sided 95% normal quantile.
WILSON_Z = 1.959963984540054

OUTCOME_COLUMNS = [
    "model_version",
    "role",
    "as_of",
    "requests",
    "direction",
    "probability_up",
    "realized_return",
    "correct",
]


@dataclass(frozen=True)
class OutcomeSummary:
    model_version: str
    role: str
    #: Requests answered (rows of the prediction log).
    requests: int
    #: Distinct bars predicted.
    bars: int
    #: Bars whose outcome is known.
    resolved: int
    #: Resolved bars the model abstained on ("flat": inside its decision rule's band), not in accuracy.
    abstained: int
    #: Share of the resolved bars it called (up or down) whose direction was right.
    accuracy: float
    #: Wilson 95% interval of the accuracy (NaN without resolved bars).
    accuracy_low: float
    accuracy_high: float
    mean_return_when_long: float

    @property
    def called(self) -> int:
        """Resolved bars the model made a call on: what its live accuracy is judged over."""
        return self.resolved - self.abstained


def resolved_outcomes(
    engine: Engine, *, exchange: str, symbol: str, timeframe: str, horizon_bars: int
) -> pd.DataFrame:
    """One row per (model version, role, bar) with its realized log return (NaN until ``horizon`` more
    bars closed) and how many requests asked for it."""
    log = PREDICTIONS.c
    per_bar = (
        select(
            log.model_version,
            log.role,
            log.as_of,
            func.min(log.id).label("first_id"),
            func.count().label("requests"),
        )
        .where(log.symbol == symbol, log.timeframe == timeframe)
        .group_by(log.model_version, log.role, log.as_of)
        .subquery()
    )
    query = select(
        per_bar.c.model_version,
        per_bar.c.role,
        per_bar.c.as_of,
        per_bar.c.requests,
        log.direction,
        log.probability_up,
    ).join(PREDICTIONS, log.id == per_bar.c.first_id)
    with engine.connect() as connection:
        bars = pd.DataFrame(connection.execute(query).all(), columns=OUTCOME_COLUMNS[:6])
    if bars.empty:
        return bars.assign(realized_return=pd.Series(dtype=float), correct=pd.Series(dtype=float))
    bars["as_of"] = pd.to_datetime(bars["as_of"], utc=True)
    bars = bars.sort_values(["model_version", "role", "as_of"], ignore_index=True)
    candles = load_candles(engine, exchange, symbol, timeframe, start=bars["as_of"].min().to_pydatetime())
    close = pd.Series(candles["close"].map(float).to_numpy(), index=candles["open_time"])
    later = bars["as_of"] + horizon_bars * timeframe_delta(timeframe)
    start_close = close.reindex(bars["as_of"]).to_numpy()
    bars["realized_return"] = np.log(close.reindex(later).to_numpy() / start_close)
    went_up = bars["realized_return"] > 0
    unjudged = bars["realized_return"].isna() | (bars["direction"] == "flat")
    bars["correct"] = np.where(unjudged, np.nan, (bars["direction"] == "up") == went_up)
    return bars


def summarize_outcomes(outcomes: pd.DataFrame) -> list[OutcomeSummary]:
    """Live figures per model version and role (champion answers users; challenger is shadow-scored)."""
    summaries = []
    for (version, role), group in outcomes.groupby(["model_version", "role"], sort=True):
        resolved = group.dropna(subset=["realized_return"])
        called = resolved.dropna(subset=["correct"])
        longs = resolved[resolved["direction"] == "up"]["realized_return"]
        low, high = wilson_interval(int(called["correct"].sum()), len(called))
        summaries.append(
            OutcomeSummary(
                model_version=str(version),
                role=str(role),
                requests=int(group["requests"].sum()),
                bars=len(group),
                resolved=len(resolved),
                abstained=len(resolved) - len(called),
                accuracy=float(called["correct"].mean()) if len(called) else float("nan"),
                accuracy_low=low,
                accuracy_high=high,
                mean_return_when_long=float(longs.mean()) if len(longs) else float("nan"),
            )
        )
    return summaries


def wilson_interval(successes: int, trials: int, z: float = WILSON_Z) -> tuple[float, float]:
    """Wilson's score interval of a proportion: unlike the normal approximation it stays inside [0, 1]
    and is honest for the few dozen bars a new champion has resolved."""
    if trials == 0:
        return float("nan"), float("nan")
    share = successes / trials
    denominator = 1 + z * z / trials
    centre = (share + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class OutcomeCheck:
    summaries: list[OutcomeSummary]
    champion: str | None
    #: The current champion's live figures, when it has resolved enough bars to be judged.
    judged: OutcomeSummary | None
    accuracy_floor: float
    #: Evidently classification reports (HTML) per "v<version> <role>".
    reports: dict[str, str]

    @property
    def degraded(self) -> bool:
        return self.judged is not None and self.judged.accuracy < self.accuracy_floor
