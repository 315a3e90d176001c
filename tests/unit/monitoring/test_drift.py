from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alphapulse.monitoring import drift_windows, measure_drift

COLUMNS = ["ret_1", "rsi_14", "vol_z"]


def frame(rows: int, *, shift_last: int = 0, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    index = pd.date_range("2024-01-01", periods=rows, freq="h", tz="UTC", name="open_time")
    data = pd.DataFrame(rng.normal(size=(rows, len(COLUMNS))), index=index, columns=COLUMNS)
    if shift_last:
        data.iloc[-shift_last:, :2] += 3.0  # two of three features move three standard deviations
    data.iloc[:20] = np.nan  # warm-up rows never enter a window
    return data


def test_windows_use_champion_training_window_or_the_past() -> None:
    data = frame(2_000)
    reference, current = drift_windows(data, COLUMNS, recent_bars=300, reference=None)
    assert len(current) == 300
    assert reference.index[-1] < current.index[0]
    assert not reference.isna().any().any()
    window = (datetime(2024, 1, 10, tzinfo=UTC), datetime(2024, 1, 20, tzinfo=UTC))
    reference, _ = drift_windows(data, COLUMNS, recent_bars=300, reference=window)
    assert reference.index[0] == pd.Timestamp(window[0])
    assert reference.index[-1] == pd.Timestamp(window[1])


def test_too_little_data_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="more than 300 complete feature rows"):
        drift_windows(frame(200), COLUMNS, recent_bars=300, reference=None)


def test_shifted_recent_window_is_detected(tmp_path: Path) -> None:
    reference, current = drift_windows(frame(2_000, shift_last=300), COLUMNS, recent_bars=300, reference=None)
    report = measure_drift(reference, current, threshold=0.5, out_dir=tmp_path, name="shifted")
    assert report.detected
    assert {"ret_1", "rsi_14"} <= set(report.drifted_columns)
    assert report.drift_share >= 2 / 3
    assert report.html_path.stat().st_size > 10_000
    assert report.json_path.exists()


def test_stationary_data_is_not_drift(tmp_path: Path) -> None:
    reference, current = drift_windows(frame(2_000), COLUMNS, recent_bars=300, reference=None)
    report = measure_drift(reference, current, threshold=0.5, out_dir=tmp_path, name="calm")
    assert not report.detected
    assert report.drift_share < 0.5
