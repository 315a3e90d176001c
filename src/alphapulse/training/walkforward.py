"""Walk-forward evaluation: purged, embargoed splits (a scikit-learn cross-validator) and running a model
family through them to collect its out-of-sample probabilities.

Labels look ``horizon`` bars ahead, so a training row just before a test window carries a label computed
from prices inside that window: training on it leaks the answer. Purging drops every training row whose
label window ``[open_time, label_end]`` reaches the test window. In walk-forward, training rows never
follow a test window, so the embargo (de Prado's gap after a test window, against serial correlation of
features built on overlapping look-backs) becomes a gap of ``embargo`` bars before the test window that
training label windows must also stay out of.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.model_selection import BaseCrossValidator

from alphapulse.training.config import TrainingConfig
from alphapulse.training.dataset import Dataset, FloatArray, IntArray, TimeArray
from alphapulse.training.models import Fitted, Fitter, get_family
from alphapulse.training.predictor import Predictor
from alphapulse.training.tuning import Split, Trial, tune


def _utc_ns(times: Any) -> TimeArray:
    index = pd.DatetimeIndex(times)
    if index.tz is not None:
        index = index.tz_convert("UTC").tz_localize(None)
    times_ns: TimeArray = index.to_numpy(dtype="datetime64[ns]")
    return times_ns


def purge(
    candidates: IntArray, open_time: TimeArray, label_end: TimeArray, first_test: int, embargo: int
) -> IntArray:
    """The candidates (all before ``first_test``) whose label is known before the embargoed test start."""
    zone_start = open_time[max(first_test - embargo, 0)]
    kept: IntArray = candidates[label_end[candidates] < zone_start]
    return kept


class WalkForward(BaseCrossValidator):  # type: ignore[misc]
    """Consecutive test windows of ``test_size`` bars ending at the last row, each trained on its past.

    ``open_time`` and ``label_end`` describe the rows of the ``X`` that ``split`` will receive, in order.
    ``mode="expanding"`` trains on everything before the window; ``"sliding"`` on at most
    ``max_train_size`` bars before it. A fold whose purged training set is below ``min_train_size`` is an
    error rather than a silently weaker model.
    """

    def __init__(
        self,
        open_time: Any,
        label_end: Any,
        *,
        n_splits: int,
        test_size: int,
        mode: Literal["expanding", "sliding"] = "expanding",
        max_train_size: int | None = None,
        min_train_size: int = 1,
        embargo: int = 0,
    ) -> None:
        if mode == "sliding" and max_train_size is None:
            raise ValueError("sliding walk-forward needs max_train_size")
        self.open_time = open_time
        self.label_end = label_end
        self.n_splits = n_splits
        self.test_size = test_size
        self.mode = mode
        self.max_train_size = max_train_size
        self.min_train_size = min_train_size
        self.embargo = embargo

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        return self.n_splits

    def split(self, X: Any, y: Any = None, groups: Any = None) -> Iterator[tuple[IntArray, IntArray]]:
        opens, ends = _utc_ns(self.open_time), _utc_ns(self.label_end)
        n = len(opens)
        if len(X) != n or len(ends) != n:
            raise ValueError(
                f"walk-forward: X has {len(X)} rows but {n} open times and {len(ends)} label ends"
            )
        first = n - self.n_splits * self.test_size
        if first <= 0:
            raise ValueError(
                f"walk-forward: {self.n_splits} windows of {self.test_size} bars need > {n} rows"
            )
        for fold in range(self.n_splits):
            start = first + fold * self.test_size
            low = (
                0 if self.max_train_size is None or self.mode == "expanding" else start - self.max_train_size
            )
            low = max(low, 0)
            train = purge(np.arange(low, start), opens, ends, start, self.embargo)
            if len(train) < self.min_train_size:
                raise ValueError(
                    f"walk-forward fold {fold}: {len(train)} training rows after purge, "
                    f"fewer than {self.min_train_size}"
                )
            yield train, np.arange(start, start + self.test_size)


def inner_validation(
    train: IntArray, open_time: TimeArray, label_end: TimeArray, fraction: float, embargo: int
) -> tuple[IntArray, IntArray]:
    """Split a fold's training rows into a fit part and a later validation slice, purged the same way.

    Early stopping looks only at this slice, which lies in the past of the fold's test window.
    """
    n_val = max(1, int(np.ceil(len(train) * fraction)))
    validation = train[-n_val:]
    fit = purge(train[:-n_val], open_time, label_end, int(validation[0]), embargo)
    return fit, validation


@dataclass(frozen=True)
class TrainedFit:
    """A model fitted on a training span, with its predictions on that span's own inner validation slice:
    what the decision rule's abstain band is chosen on, in the past of anything the model is judged on.
    ``params`` are the ones fitted (tuned on that slice, or as configured) and ``trials`` the search that
    chose them (none without tuning)."""

    predictor: Predictor
    fitted: Fitted
    validation: IntArray
    validation_proba: FloatArray
    params: dict[str, Any]
    trials: tuple[Trial, ...]


@dataclass(frozen=True)
class FoldFit:
    fold: int
    train_rows: int
    test: IntArray
    proba: FloatArray
    fitted: Fitted
    validation: IntArray
    validation_proba: FloatArray
    params: dict[str, Any]
    trials: tuple[Trial, ...]


def splitter(dataset: Dataset, config: TrainingConfig) -> WalkForward:
    """The configured walk-forward over this dataset's rows."""
    splits = config.splits
    return WalkForward(
        dataset.open_ns,
        dataset.label_end,
        n_splits=config.model.n_splits,
        test_size=splits.test_bars,
        mode=splits.mode,
        max_train_size=splits.max_train_bars,
        min_train_size=splits.min_train_bars,
        embargo=splits.embargo_bars,
    )


def fit_predictor(fitter: Fitter, dataset: Dataset, train: IntArray, config: TrainingConfig) -> TrainedFit:
    """Fit on ``train`` with early stopping on its purged latest slice, with the params a search on that
    same split chose when the profile tunes: ``fitter`` is the recipe (family and configured params), and
    the search is given nothing of ``dataset`` beyond ``train``.
    """
    fit, validation = inner_validation(
        train,
        dataset.open_ns,
        dataset.label_end,
        config.splits.inner_validation_fraction,
        config.splits.embargo_bars,
    )
    split = Split(dataset.x[fit], dataset.y[fit], dataset.x[validation], dataset.y[validation])
    tuned = tune(fitter, split, config)
    chosen = (
        get_family(fitter.name).fitter(tuned.params, seed=config.seed, threads=config.threads)
        if tuned.trials
        else fitter
    )
    fitted = split.fit(chosen)
    predictor = Predictor(fitter.name, fitted.model, dataset.feature_columns, dataset.feature_version)
    validation_proba = predictor.predict_proba(dataset.features.iloc[validation])
    return TrainedFit(predictor, fitted, validation, validation_proba, tuned.params, tuned.trials)


def run_fold(
    fitter: Fitter, dataset: Dataset, fold: int, train: IntArray, test: IntArray, config: TrainingConfig
) -> FoldFit:
    trained = fit_predictor(fitter, dataset, train, config)
    proba = trained.predictor.predict_proba(dataset.features.iloc[test])
    return FoldFit(
        fold=fold,
        train_rows=len(train),
        test=test,
        proba=proba,
        fitted=trained.fitted,
        validation=trained.validation,
        validation_proba=trained.validation_proba,
        params=trained.params,
        trials=trained.trials,
    )


def walk_forward(fitter: Fitter, dataset: Dataset, config: TrainingConfig) -> list[FoldFit]:
    folds = splitter(dataset, config).split(dataset.x)
    return [run_fold(fitter, dataset, fold, train, test, config) for fold, (train, test) in enumerate(folds)]
