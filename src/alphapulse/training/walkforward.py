"""Run one model family through the walk-forward folds and collect its out-of-sample probabilities."""

from __future__ import annotations

from dataclasses import dataclass

from alphapulse.training.config import TrainingConfig
from alphapulse.training.dataset import Dataset, FloatArray, IntArray
from alphapulse.training.models import Family, Fitted
from alphapulse.training.predictor import Predictor
from alphapulse.training.splits import WalkForward, inner_validation


@dataclass(frozen=True)
class FoldFit:
    fold: int
    train_rows: int
    test: IntArray
    proba: FloatArray
    fitted: Fitted


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


def fit_predictor(
    family: Family, dataset: Dataset, train: IntArray, config: TrainingConfig
) -> tuple[Predictor, Fitted]:
    """Fit on ``train`` with early stopping on its purged latest slice."""
    fit, validation = inner_validation(
        train,
        dataset.open_ns,
        dataset.label_end,
        config.splits.inner_validation_fraction,
        config.splits.embargo_bars,
    )
    fitted = family.fit(dataset.x[fit], dataset.y[fit], dataset.x[validation], dataset.y[validation])
    return Predictor(family.name, fitted.model, dataset.feature_columns, dataset.feature_version), fitted


def run_fold(
    family: Family, dataset: Dataset, fold: int, train: IntArray, test: IntArray, config: TrainingConfig
) -> FoldFit:
    predictor, fitted = fit_predictor(family, dataset, train, config)
    proba = predictor.predict_proba(dataset.features.iloc[test])
    return FoldFit(fold=fold, train_rows=len(train), test=test, proba=proba, fitted=fitted)


def walk_forward(family: Family, dataset: Dataset, config: TrainingConfig) -> list[FoldFit]:
    folds = splitter(dataset, config).split(dataset.x)
    return [run_fold(family, dataset, fold, train, test, config) for fold, (train, test) in enumerate(folds)]
