"""Feature drift that means something: the last bars against the model's most recent training data.

Crypto features are not stationary: volatility clusters, trends come and go, and two consecutive weeks
routinely differ by more than Evidently's default thresholds (a normed Wasserstein distance of 0.1).
Comparing against four years of history, or with those defaults, flags nearly every column on every run.
So the check compares like with like and lets each column's own variability set its bar:

- current: the last ``recent_bars`` complete bars (a day by default, so a change shows within a day);
- reference: the ``reference_bars`` complete bars before the current window, never later than the end
  of the champion's training data (a stale champion is compared with what it was trained on);
- per column, Evidently's normed Wasserstein distance (``wasserstein``: W1 / reference std, no p-value,
  so it does not turn every difference significant on thousands of autocorrelated bars), with a threshold
  calibrated on the reference itself: the largest distance any ``recent_bars``-long slice of the
  reference has from the whole reference (never below Evidently's default 0.1). A column drifts when the
  current window is further from the reference than every slice of it was;
- drift is declared when at least ``share_threshold`` of the compared columns drift, or when one column
  reaches ``severe_factor`` times its threshold (a broken or rescaled feature);
- a column that is zero in most of a window (at least 3 bars in 4) is missing data there (typically
  news: no or next to no headline covered that period; a few headlines are no distribution), reported
  as such and left out of the comparison and the share; a reference that starts with zeros (a feed
  that began inside it) is compared from its first non-zero value on.

``bench/drift.py`` measures the false-alarm rate and the detection delay of exactly this code.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from alphapulse.monitoring.evidently_loader import load_evidently
from alphapulse.settings import Settings

#: Evidently's stattest for every column (the normed Wasserstein distance).
METHOD = "wasserstein"
#: Evidently's default threshold for that method: a calibrated threshold is never stricter.
MIN_THRESHOLD = 0.1
#: The reference must hold this many current-window-long slices for the calibration to mean anything.
MIN_SLICES = 10
#: A window where a column is non-zero in fewer than this share of its bars has no data to compare.
MIN_COVERAGE = 0.25

Side = Literal["current", "reference", "both"]


@dataclass(frozen=True)
class DriftPolicy:
    recent_bars: int
    reference_bars: int
    share_threshold: float
    severe_factor: float

    def __post_init__(self) -> None:
        if self.reference_bars < MIN_SLICES * self.recent_bars:
            raise ValueError(
                f"ALPHAPULSE_DRIFT_REFERENCE_BARS ({self.reference_bars}) must be at least "
                f"{MIN_SLICES} times ALPHAPULSE_DRIFT_RECENT_BARS ({self.recent_bars}): each column's "
                "threshold is calibrated on current-window-long slices of the reference"
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> DriftPolicy:
        return cls(
            recent_bars=settings.drift_recent_bars,
            reference_bars=settings.drift_reference_bars,
            share_threshold=settings.drift_share_threshold,
            severe_factor=settings.drift_severe_factor,
        )


@dataclass(frozen=True)
class MissingColumn:
    """A column without data in one window (or both): missing data, not drift."""

    column: str
    missing_in: Side


@dataclass(frozen=True)
class ColumnDrift:
    column: str
    score: float
    threshold: float
    #: Reference bars compared (fewer than the window when the column's coverage began inside it).
    reference_rows: int

    @property
    def drifted(self) -> bool:
        return self.score >= self.threshold

    @property
    def ratio(self) -> float:
        return self.score / self.threshold


@dataclass(frozen=True)
class DriftWindows:
    reference: pd.DataFrame
    current: pd.DataFrame
    missing: tuple[MissingColumn, ...]
    #: Where the reference comes from, in words (shown in the report and the CLI).
    reference_source: str

    @property
    def compared(self) -> list[str]:
        return [str(c) for c in self.current.columns]


@dataclass(frozen=True)
class DriftReport:
    columns: tuple[ColumnDrift, ...]
    missing: tuple[MissingColumn, ...]
    threshold: float
    severe_factor: float
    reference_window: tuple[datetime, datetime]
    current_window: tuple[datetime, datetime]
    reference_source: str
    html_path: Path | None = None
    json_path: Path | None = None
    #: The verdict (``summary()``) saved next to Evidently's files.
    verdict_path: Path | None = None

    @property
    def compared(self) -> int:
        return len(self.columns)

    @property
    def drifted_columns(self) -> tuple[str, ...]:
        return tuple(c.column for c in self.columns if c.drifted)

    @property
    def severe_columns(self) -> tuple[str, ...]:
        return tuple(c.column for c in self.columns if c.ratio >= self.severe_factor)

    @property
    def drift_share(self) -> float:
        return len(self.drifted_columns) / self.compared if self.compared else 0.0

    @property
    def detected(self) -> bool:
        return bool(self.compared) and (self.drift_share >= self.threshold or bool(self.severe_columns))

    @property
    def reason(self) -> str:
        """Why drift was (or was not) declared, in one line."""
        if not self.compared:
            return "nothing to compare: every feature column is missing in a window"
        share = (
            f"{len(self.drifted_columns)} of {self.compared} compared columns drifted "
            f"(share {self.drift_share:.2f}, threshold {self.threshold:.2f})"
        )
        severe = self.severe_columns
        if not severe:
            return share
        named = ", ".join(severe[:4]) + (f" and {len(severe) - 4} more" if len(severe) > 4 else "")
        return f"{share}; severe (>= {self.severe_factor:g}x its threshold): {named}"

    def summary(self) -> dict[str, Any]:
        """JSON-ready figures for flow results, MLflow and the saved verdict."""
        return {
            "detected": self.detected,
            "reason": self.reason,
            "drift_share": self.drift_share,
            "threshold": self.threshold,
            "severe_factor": self.severe_factor,
            "compared": self.compared,
            "drifted_columns": list(self.drifted_columns),
            "severe_columns": list(self.severe_columns),
            "missing_columns": [asdict(m) for m in self.missing],
            "columns": [{**asdict(c), "drifted": c.drifted} for c in self.columns],
            "reference_window": [m.isoformat() for m in self.reference_window],
            "current_window": [m.isoformat() for m in self.current_window],
            "reference_source": self.reference_source,
            "html": str(self.html_path) if self.html_path else None,
        }


def drift_windows(
    frame: pd.DataFrame,
    columns: Sequence[str],
    policy: DriftPolicy,
    *,
    reference_end: datetime | None = None,
    champion: str | None = None,
) -> DriftWindows:
    """(reference, current) feature rows without warm-up NaNs, and the columns missing in either.

    ``reference_end`` (the end of the training data of the ``champion`` version) caps the reference
    window; without it, or when it lies inside the current window, the reference is the bars just
    before the current window.
    """
    recent_bars, reference_bars = policy.recent_bars, policy.reference_bars
    data = frame.loc[:, list(columns)]
    empty = [str(c) for c in data.columns if data[c].isna().all()]
    complete = data.drop(columns=empty).dropna()
    if len(complete) <= recent_bars:
        raise ValueError(f"drift needs more than {recent_bars} complete feature rows, got {len(complete)}")
    current = complete.iloc[-recent_bars:]
    before = complete.iloc[:-recent_bars]
    if reference_end is not None:
        before = before[before.index <= pd.Timestamp(reference_end)]
    reference = before.iloc[-reference_bars:]
    needed = MIN_SLICES * recent_bars
    if len(reference) < needed:
        raise ValueError(
            f"drift needs at least {needed} complete reference rows ({MIN_SLICES} current windows of "
            f"{recent_bars} bars) before the current window, got {len(reference)}: not enough history"
        )
    reference = _from_coverage(reference)
    missing = [MissingColumn(c, "both") for c in empty]
    for column in complete.columns:
        side = _missing_side(reference[column], current[column], needed)
        if side is not None:
            missing.append(MissingColumn(str(column), side))
    absent = [m.column for m in missing]
    capped = len(before) < len(complete) - recent_bars
    source = _source(len(reference), reference_end, champion, capped=capped)
    return DriftWindows(
        reference=reference.drop(columns=absent, errors="ignore"),
        current=current.drop(columns=absent, errors="ignore"),
        missing=tuple(missing),
        reference_source=source,
    )


def _source(bars: int, reference_end: datetime | None, champion: str | None, *, capped: bool) -> str:
    if capped:
        return f"the last {bars} bars champion v{champion} was trained on"
    if reference_end is None:
        return f"the {bars} bars before the current window (no champion yet)"
    return (
        f"the {bars} bars before the current window "
        f"(champion v{champion} was trained up to {reference_end:%Y-%m-%d %H:%M})"
    )


def _from_coverage(reference: pd.DataFrame) -> pd.DataFrame:
    """Blank each column's leading zeros: a news feed that started inside the reference window covers
    only its later part, and the uncovered part is missing data, not a calm news flow."""
    values = reference.to_numpy(dtype=np.float64, copy=True)
    nonzero = values != 0
    first = np.where(nonzero.any(axis=0), nonzero.argmax(axis=0), len(values))
    values[np.arange(len(values))[:, None] < first[None, :]] = np.nan
    return pd.DataFrame(values, index=reference.index, columns=reference.columns)


def _missing_side(reference: pd.Series, current: pd.Series, needed: int) -> Side | None:
    """News columns read 0 where no headline exists: mostly zero means (next to) no coverage, not a
    calm news flow, and a handful of headlines is no distribution to compare. A reference covered for
    fewer than ``needed`` bars cannot calibrate a threshold either."""
    covered = reference.dropna()
    none_in_reference = len(covered) < needed or _sparse(covered)
    none_in_current = _sparse(current)
    if none_in_reference and none_in_current:
        return "both"
    if none_in_reference:
        return "reference"
    if none_in_current:
        return "current"
    return None


def _sparse(values: pd.Series) -> bool:
    return float((values != 0).mean()) < MIN_COVERAGE


def assess_drift(windows: DriftWindows, policy: DriftPolicy) -> DriftReport:
    """Score every compared column and calibrate its threshold on slices of the reference."""
    reference, current = windows.reference, windows.current
    slice_bars = len(current)
    columns = []
    for name in windows.compared:
        ref = reference[name].dropna().to_numpy(dtype=np.float64)
        cur = current[name].to_numpy(dtype=np.float64)
        own = [
            _score(ref, ref[stop - slice_bars : stop])
            for stop in range(len(ref), slice_bars - 1, -slice_bars)
        ]
        columns.append(ColumnDrift(name, _score(ref, cur), max(MIN_THRESHOLD, *own), len(ref)))
    return DriftReport(
        columns=tuple(columns),
        missing=windows.missing,
        threshold=policy.share_threshold,
        severe_factor=policy.severe_factor,
        reference_window=(_moment(reference.index[0]), _moment(reference.index[-1])),
        current_window=(_moment(current.index[0]), _moment(current.index[-1])),
        reference_source=windows.reference_source,
    )


def _score(reference: np.ndarray[Any, Any], current: np.ndarray[Any, Any]) -> float:
    """Evidently's own stattest, so the saved Evidently report shows exactly these scores."""
    load_evidently()
    from evidently.legacy.calculations.stattests.wasserstein_distance_norm import wasserstein_stat_test
    from evidently.legacy.core import ColumnType

    return float(wasserstein_stat_test(reference, current, ColumnType.Numerical, MIN_THRESHOLD).drift_score)


def save_report(report: DriftReport, windows: DriftWindows, *, out_dir: Path, name: str) -> DriftReport:
    """Evidently's DataDriftPreset with the same method and calibrated thresholds (HTML and JSON), and
    the verdict next to it; returns the report with the file paths set."""
    load_evidently()
    from evidently import Report  # heavy import (seconds): only where a report is written
    from evidently.presets import DataDriftPreset

    out_dir.mkdir(parents=True, exist_ok=True)
    html_path, json_path = out_dir / f"{name}.html", out_dir / f"{name}.json"
    if report.columns:
        preset = DataDriftPreset(
            columns=windows.compared,
            method=METHOD,
            per_column_threshold={c.column: c.threshold for c in report.columns},
            drift_share=report.threshold,
        )
        with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            # Evidently's correlation widgets divide by the std of columns that are constant in a window.
            warnings.simplefilter("ignore", RuntimeWarning)
            snapshot = Report([preset]).run(
                current_data=windows.current.reset_index(drop=True),
                reference_data=windows.reference.reset_index(drop=True),
            )
        snapshot.save_html(str(html_path))
        snapshot.save_json(str(json_path))
    else:
        html_path.write_text(f"<html><body><p>{report.reason}</p></body></html>", encoding="utf-8")
        json_path.write_text(json.dumps({"metrics": []}), encoding="utf-8")
    verdict_path = out_dir / f"{name}.verdict.json"
    saved = replace(report, html_path=html_path, json_path=json_path, verdict_path=verdict_path)
    verdict_path.write_text(json.dumps(saved.summary(), indent=2), encoding="utf-8")
    return saved


def _moment(value: Any) -> datetime:
    moment = pd.Timestamp(value).to_pydatetime()
    assert isinstance(moment, datetime)
    return moment
