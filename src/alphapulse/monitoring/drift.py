"""Feature drift with Evidently's DataDriftPreset: the champion's training window vs the recent bars."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class DriftReport:
    drift_share: float
    drifted_columns: tuple[str, ...]
    columns: int
    threshold: float
    reference_window: tuple[datetime, datetime]
    current_window: tuple[datetime, datetime]
    html_path: Path
    json_path: Path

    @property
    def detected(self) -> bool:
        return self.drift_share > self.threshold


def drift_windows(
    frame: pd.DataFrame,
    columns: Sequence[str],
    *,
    recent_bars: int,
    reference: tuple[datetime, datetime] | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(reference, current) feature rows without warm-up NaNs.

    The current window is the last ``recent_bars`` bars; the reference is the champion's training window,
    or, with no champion yet, everything before the current window.
    """
    complete = frame.loc[:, list(columns)].dropna()
    if len(complete) <= recent_bars:
        raise ValueError(f"drift needs more than {recent_bars} complete feature rows, got {len(complete)}")
    current = complete.iloc[-recent_bars:]
    if reference is None:
        baseline = complete.iloc[:-recent_bars]
    else:
        start, end = (pd.Timestamp(moment) for moment in reference)
        baseline = complete[(complete.index >= start) & (complete.index <= end)]
    if baseline.empty:
        raise ValueError("drift reference window holds no complete feature rows")
    return baseline, current


def measure_drift(
    reference: pd.DataFrame, current: pd.DataFrame, *, threshold: float, out_dir: Path, name: str
) -> DriftReport:
    """Run the preset, save its HTML and JSON under ``out_dir``, and read the drift share back."""
    from evidently import Report  # heavy import (seconds): only where drift is measured
    from evidently.presets import DataDriftPreset

    columns = list(reference.columns)
    snapshot = Report([DataDriftPreset(columns=columns, drift_share=threshold)]).run(
        current_data=current.reset_index(drop=True), reference_data=reference.reset_index(drop=True)
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path, json_path = out_dir / f"{name}.html", out_dir / f"{name}.json"
    snapshot.save_html(str(html_path))
    snapshot.save_json(str(json_path))
    share, drifted = _read_drift(json.loads(json_path.read_text()))
    return DriftReport(
        drift_share=share,
        drifted_columns=drifted,
        columns=len(columns),
        threshold=threshold,
        reference_window=(_moment(reference.index[0]), _moment(reference.index[-1])),
        current_window=(_moment(current.index[0]), _moment(current.index[-1])),
        html_path=html_path,
        json_path=json_path,
    )


def _read_drift(snapshot: dict[str, Any]) -> tuple[float, tuple[str, ...]]:
    share = None
    drifted = []
    for metric in snapshot["metrics"]:
        config = metric.get("config", {})
        kind = config.get("type", "")
        if kind.endswith("DriftedColumnsCount"):
            share = float(metric["value"]["share"])
        elif kind.endswith("ValueDrift"):
            value, limit = float(metric["value"]), float(config["threshold"])
            # p-value tests drift below the threshold; distance tests drift at or above it.
            is_drift = value < limit if "p_value" in config.get("method", "") else value >= limit
            if is_drift:
                drifted.append(str(config["column"]))
    if share is None:
        raise ValueError("Evidently report has no DriftedColumnsCount metric")
    return share, tuple(drifted)


def _moment(value: Any) -> datetime:
    moment = pd.Timestamp(value).to_pydatetime()
    assert isinstance(moment, datetime)
    return moment
