"""Outcome tracking: the prediction log joined with what the market did once it is known."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select

from alphapulse.store import PREDICTIONS
from alphapulse.store.queries import load_candles
from alphapulse.timeframes import timeframe_delta


@dataclass(frozen=True)
class OutcomeSummary:
    model_version: str
    role: str
    predictions: int
    resolved: int
    accuracy: float
    mean_return_when_long: float


def resolved_outcomes(
    engine: Engine, *, exchange: str, symbol: str, timeframe: str, horizon_bars: int
) -> pd.DataFrame:
    """Every logged prediction with its realized log return (NaN until ``horizon`` more bars closed)."""
    query = select(
        PREDICTIONS.c.model_version, PREDICTIONS.c.role, PREDICTIONS.c.as_of, PREDICTIONS.c.direction
    ).where(PREDICTIONS.c.symbol == symbol, PREDICTIONS.c.timeframe == timeframe)
    with engine.connect() as connection:
        log = pd.DataFrame(
            connection.execute(query).all(), columns=["model_version", "role", "as_of", "direction"]
        )
    if log.empty:
        return log.assign(realized_return=pd.Series(dtype=float), correct=pd.Series(dtype=float))
    log["as_of"] = pd.to_datetime(log["as_of"], utc=True)
    candles = load_candles(engine, exchange, symbol, timeframe, start=log["as_of"].min().to_pydatetime())
    close = pd.Series(candles["close"].map(float).to_numpy(), index=candles["open_time"])
    later = log["as_of"] + horizon_bars * timeframe_delta(timeframe)
    start_close = close.reindex(log["as_of"]).to_numpy()
    end_close = close.reindex(later).to_numpy()
    log["realized_return"] = np.log(end_close / start_close)
    went_up = log["realized_return"] > 0
    log["correct"] = np.where(log["realized_return"].isna(), np.nan, (log["direction"] == "up") == went_up)
    return log


def summarize_outcomes(outcomes: pd.DataFrame) -> list[OutcomeSummary]:
    """Live accuracy per model version and role (champion answers users; challenger is shadow-scored)."""
    summaries = []
    for (version, role), group in outcomes.groupby(["model_version", "role"], sort=True):
        resolved = group.dropna(subset=["realized_return"])
        longs = resolved[resolved["direction"] == "up"]["realized_return"]
        summaries.append(
            OutcomeSummary(
                model_version=str(version),
                role=str(role),
                predictions=len(group),
                resolved=len(resolved),
                accuracy=float(resolved["correct"].mean()) if len(resolved) else float("nan"),
                mean_return_when_long=float(longs.mean()) if len(longs) else float("nan"),
            )
        )
    return summaries
