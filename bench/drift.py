"""How often the drift monitor alarms on ordinary history, and how fast it finds a planted change.

    .venv/bin/python -m bench.drift [--step-bars 168] [--onsets 12] [--every 3] [--per-feature 4]

Builds the default feature set on the bundled BTC/USDT hourly history (with its headlines), then runs
the monitor's own code (``drift_windows`` + ``assess_drift`` with the settings' policy, no champion:
the reference is the bars before the current window):

- stationary: one check per ``--step-bars`` (weekly) over the whole history; every alarm is a false
  alarm as far as this bench knows (nothing was planted), reported per 30 days of history;
- planted: at ``--onsets`` evenly spaced bars, a change starts and the monitor checks every ``--every``
  bars up to 24 bars later (the first alarm counts). Changes: the underlying returns' volatility scaled
  (the candles are rebuilt, every feature recomputed), and one feature's values scaled (a different
  technical feature per onset). The same checks without a plant are the control;
- per feature (``--per-feature N``): every technical feature scaled x3 and x5 at N onsets, one check
  24 bars after each: which features a rescaling shows in.

Goals (issue 12): at most one alarm per 30 days of history without a planted change; a planted shift
detected within 24 bars. Prints the figures of docs/MONITORING.md.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from alphapulse.features import build, load_config
from alphapulse.monitoring.drift import DriftPolicy, DriftReport, assess_drift, drift_windows
from alphapulse.settings import get_settings
from alphapulse.sources.bundled import bundled_candles, bundled_news

HORIZON_BARS = 24
VOLATILITY_FACTORS = (3.0, 5.0, 10.0)
FEATURE_FACTORS = (2.0, 3.0, 5.0)


def check(frame: pd.DataFrame, columns: tuple[str, ...], policy: DriftPolicy) -> DriftReport:
    """One monitor run on the bars of ``frame`` (its last row is the latest closed bar)."""
    return assess_drift(drift_windows(frame, columns, policy), policy)


def amplify_volatility(candles: pd.DataFrame, onset: int, factor: float) -> pd.DataFrame:
    """Bars from ``onset`` on move ``factor`` times as much (close-to-close and within the bar)."""
    changed = candles.copy()
    close = candles["close"].map(float).to_numpy()
    moves = np.diff(np.log(close), prepend=np.log(close[0]))
    moves[onset:] *= factor
    rebuilt = close[0] * np.exp(np.cumsum(moves))
    for name in ("open", "high", "low"):
        spread = np.log(candles[name].map(float).to_numpy() / close)
        spread[onset:] *= factor
        changed[name] = rebuilt * np.exp(spread)
    changed["close"] = rebuilt
    return changed


def first_checkable(frame: pd.DataFrame, columns: tuple[str, ...], policy: DriftPolicy) -> int:
    """The first bar count with a full reference and current window after the features' warm-up."""
    warm = int(frame.index.searchsorted(frame[list(columns)].dropna().index[0]))
    return warm + policy.reference_bars + 2 * policy.recent_bars


@dataclass(frozen=True)
class Stationary:
    checks: int
    days: float
    alarms: list[DriftReport]
    with_missing: int

    @property
    def per_30_days(self) -> float:
        return len(self.alarms) * 30 / self.days


def stationary(frame: pd.DataFrame, columns: tuple[str, ...], policy: DriftPolicy, step: int) -> Stationary:
    start = first_checkable(frame, columns, policy)
    reports = [check(frame.iloc[:end], columns, policy) for end in range(start, len(frame) + 1, step)]
    return Stationary(
        checks=len(reports),
        days=(len(frame) - start) / 24,
        alarms=[r for r in reports if r.detected],
        with_missing=sum(1 for r in reports if any(m.missing_in != "both" for m in r.missing)),
    )


def first_alarm(
    frame: pd.DataFrame, columns: tuple[str, ...], policy: DriftPolicy, onset: int, every: int
) -> int | None:
    """Bars after ``onset`` until the first alarm among checks every ``every`` bars, or None in 24."""
    for bars in range(every, HORIZON_BARS + 1, every):
        if check(frame.iloc[: onset + bars], columns, policy).detected:
            return bars
    return None


def scale_feature(frame: pd.DataFrame, column: str, onset: int, factor: float) -> pd.DataFrame:
    changed = frame.copy()
    changed.iloc[onset:, changed.columns.get_loc(column)] *= factor
    return changed


def planted(
    candles: pd.DataFrame,
    news: pd.DataFrame,
    frame: pd.DataFrame,
    columns: tuple[str, ...],
    policy: DriftPolicy,
    onsets: list[int],
    every: int,
) -> dict[str, list[int | None]]:
    config = load_config()
    technical = [c for c in columns if not c.startswith("news_")]
    history = policy.reference_bars + 2 * policy.recent_bars + 3 * config.anchor_block_bars
    found: dict[str, list[int | None]] = {}

    def record(kind: str, delay: int | None) -> None:
        found.setdefault(kind, []).append(delay)

    for n, onset in enumerate(onsets):
        record("control (nothing planted)", first_alarm(frame, columns, policy, onset, every))
        column = technical[(n * 7) % len(technical)]
        for factor in FEATURE_FACTORS:
            shifted = scale_feature(frame, column, onset, factor)
            record(f"one feature x{factor:g}", first_alarm(shifted, columns, policy, onset, every))
        # Rebuild on a slice: features at a bar depend only on bars up to it, so the bars before the
        # onset are the unplanted ones and the planted bars see every consequence of the change.
        low = max(0, onset - history)
        piece = candles.iloc[low : onset + HORIZON_BARS].reset_index(drop=True)
        for factor in VOLATILITY_FACTORS:
            rebuilt = build(amplify_volatility(piece, onset - low, factor), news, config).frame
            record(f"volatility x{factor:g}", first_alarm(rebuilt, columns, policy, onset - low, every))
    return found


def per_feature(
    frame: pd.DataFrame, columns: tuple[str, ...], policy: DriftPolicy, onsets: list[int]
) -> dict[str, dict[float, int]]:
    """Per technical feature and factor: at how many onsets the scaled feature alarms 24 bars later."""
    found: dict[str, dict[float, int]] = {}
    for column in (c for c in columns if not c.startswith("news_")):
        for factor in (3.0, 5.0):
            planted = (scale_feature(frame.iloc[: o + HORIZON_BARS], column, o, factor) for o in onsets)
            hits = sum(check(shifted, columns, policy).detected for shifted in planted)
            found.setdefault(column, {})[factor] = hits
    return found


def describe(delays: list[int | None]) -> str:
    hits = [d for d in delays if d is not None]
    median = f", median {statistics.median(hits):g} bars" if hits else ""
    return f"{len(hits)}/{len(delays)} within {HORIZON_BARS} bars{median}"


def seconds(action: Callable[[], object]) -> tuple[object, float]:
    start = time.perf_counter()
    result = action()
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--step-bars", type=int, default=168, help="bars between stationary checks")
    parser.add_argument("--onsets", type=int, default=12, help="planted changes")
    parser.add_argument("--every", type=int, default=3, help="bars between checks after an onset")
    parser.add_argument("--per-feature", type=int, default=0, help="onsets per feature (0: skip)")
    args = parser.parse_args()
    policy = DriftPolicy.from_settings(get_settings())
    candles, news = bundled_candles(), bundled_news()
    matrix = build(candles, news, load_config())
    frame, columns = matrix.frame, matrix.feature_columns
    print(
        f"history: {len(frame):,} bars {frame.index[0]:%Y-%m-%d} .. {frame.index[-1]:%Y-%m-%d}, "
        f"{len(columns)} features, {len(news):,} headlines"
    )
    print(
        f"policy: current {policy.recent_bars} bars, reference {policy.reference_bars} bars, "
        f"normed Wasserstein per column with self-calibrated thresholds, share >= "
        f"{policy.share_threshold:.2f} or one column >= {policy.severe_factor:g}x its threshold"
    )
    calm, took = seconds(lambda: stationary(frame, columns, policy, args.step_bars))
    assert isinstance(calm, Stationary)
    verdict = "PASS" if calm.per_30_days <= 1 else "FAIL"
    print(
        f"stationary: {calm.checks} checks, one per {args.step_bars} bars of {calm.days:,.0f} days: "
        f"{len(calm.alarms)} alarms = {calm.per_30_days:.2f} per 30 days (goal <= 1: {verdict}); "
        f"{calm.with_missing} checks had columns missing on one side (news coverage); "
        f"{took / calm.checks * 1000:.0f} ms per check"
    )
    for report in calm.alarms:
        print(f"  alarm at {report.current_window[1]:%Y-%m-%d %H:%M}: {report.reason}")
    lowest = first_checkable(frame, columns, policy)
    onsets = [int(x) for x in np.linspace(lowest, len(frame) - HORIZON_BARS - 1, args.onsets)]
    found = planted(candles, news, frame, columns, policy, onsets, args.every)
    print(f"planted at {len(onsets)} onsets, checks every {args.every} bars up to {HORIZON_BARS} bars later:")
    for kind, delays in found.items():
        print(f"  {kind}: {describe(delays)}")
    strongest = found[f"volatility x{max(VOLATILITY_FACTORS):g}"]
    verdict = "PASS" if all(d is not None for d in strongest) else "FAIL"
    print(f"goal: volatility x{max(VOLATILITY_FACTORS):g} detected within {HORIZON_BARS} bars: {verdict}")
    if args.per_feature:
        spots = [int(x) for x in np.linspace(lowest, len(frame) - HORIZON_BARS - 1, args.per_feature)]
        control = sum(check(frame.iloc[: o + HORIZON_BARS], columns, policy).detected for o in spots)
        print(f"per feature, scaled at {len(spots)} onsets, one check {HORIZON_BARS} bars later:")
        print(f"  control (nothing scaled): {control}/{len(spots)}")
        for column, hits in per_feature(frame, columns, policy, spots).items():
            print(f"  {column}: x3 {hits[3.0]}/{len(spots)}, x5 {hits[5.0]}/{len(spots)}")


if __name__ == "__main__":
    main()
