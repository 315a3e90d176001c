"""Walk-forward splits: purge, embargo, window shapes, and scikit-learn interoperability."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

from alphapulse.training.walkforward import WalkForward, inner_validation


def _times(horizons: list[int]) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    opens = pd.date_range("2024-01-01", periods=len(horizons), freq="h", tz="UTC")
    ends = opens + pd.to_timedelta(np.asarray(horizons) + 1, unit="h")
    return opens, ends


@settings(max_examples=60, deadline=None)
@given(
    horizons=st.lists(st.integers(min_value=0, max_value=30), min_size=120, max_size=400),
    n_splits=st.integers(min_value=1, max_value=4),
    embargo=st.integers(min_value=0, max_value=10),
    sliding=st.booleans(),
)
def test_no_training_label_window_intersects_any_test_window(
    horizons: list[int], n_splits: int, embargo: int, sliding: bool
) -> None:
    opens, ends = _times(horizons)
    test_size = len(horizons) // (n_splits + 2)
    splitter = WalkForward(
        opens,
        ends,
        n_splits=n_splits,
        test_size=test_size,
        mode="sliding" if sliding else "expanding",
        max_train_size=50,
        embargo=embargo,
    )
    for train, test in splitter.split(np.zeros(len(horizons))):
        assert len(test) == test_size
        for i in train:
            overlaps = (opens[i] <= ends[test]) & (opens[test] <= ends[i])
            assert not overlaps.any(), f"train row {i} overlaps the test window"
        # the embargo: the last `embargo` bars before the test window hold no training label end
        gap_start = opens[max(test[0] - embargo, 0)]
        assert (ends[train] < gap_start).all()
        if sliding:
            assert train.min() >= test[0] - 50


def test_overlapping_labels_are_purged_and_test_windows_tile_the_end() -> None:
    opens, ends = _times([5] * 100)  # every label looks 5 bars ahead
    splitter = WalkForward(opens, ends, n_splits=2, test_size=20)
    (train_a, test_a), (train_b, test_b) = list(splitter.split(np.zeros(100)))
    assert list(test_a) == list(range(60, 80))
    assert list(test_b) == list(range(80, 100))
    assert train_a.max() == 60 - 7  # label of bar 53 ends at the close of bar 59: known before bar 60 opens
    assert train_b.max() == 80 - 7


def test_usable_by_scikit_learn_tools() -> None:
    rng = np.random.default_rng(0)
    opens, ends = _times([1] * 300)
    x = rng.standard_normal((300, 2))
    y = (x[:, 0] > 0).astype(int)
    scores = cross_val_score(
        LogisticRegression(), x, y, cv=WalkForward(opens, ends, n_splits=3, test_size=50)
    )
    assert scores.shape == (3,)
    assert scores.min() > 0.9


def test_refuses_folds_it_cannot_fill() -> None:
    opens, ends = _times([1] * 100)
    with pytest.raises(ValueError, match="need > 100 rows"):
        list(WalkForward(opens, ends, n_splits=5, test_size=20).split(np.zeros(100)))
    with pytest.raises(ValueError, match="fewer than 50"):
        list(WalkForward(opens, ends, n_splits=2, test_size=40, min_train_size=50).split(np.zeros(100)))
    with pytest.raises(ValueError, match="X has 99 rows"):
        list(WalkForward(opens, ends, n_splits=2, test_size=10).split(np.zeros(99)))


def test_inner_validation_is_the_latest_slice_purged_from_the_fit_part() -> None:
    opens, ends = _times([3] * 100)
    as_ns = opens.tz_localize(None).to_numpy(), ends.tz_localize(None).to_numpy()
    fit, validation = inner_validation(np.arange(80), *as_ns, 0.25, 2)
    assert list(validation) == list(range(60, 80))
    assert fit.max() < 60
    assert (as_ns[1][fit] < as_ns[0][58]).all()
