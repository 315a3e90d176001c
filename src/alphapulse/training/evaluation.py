"""Per-fold and overall figures of every model and baseline on the same out-of-sample rows.

Models and baselines are scored by the same functions over the same rows, with block-bootstrap intervals,
and each model is tested against the best baseline (best by overall accuracy, chosen after the fact, which
favours the baseline: the test is conservative). ``summary_frame`` lays them out one row per predictor:
the data behind the run's CSV and HTML report and the command line's table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from alphapulse.training import metrics
from alphapulse.training.baselines import BASELINES
from alphapulse.training.bootstrap import interval, superiority
from alphapulse.training.config import TrainingConfig
from alphapulse.training.dataset import Dataset, FloatArray, IntArray
from alphapulse.training.walkforward import FoldFit

Kind = Literal["model", "baseline"]
INTERVAL_METRICS = ("accuracy", "long_short_sharpe", "long_flat_sharpe")


@dataclass(frozen=True)
class Predictions:
    """Out-of-sample up-probabilities of one predictor, on dataset rows in time order."""

    name: str
    kind: Kind
    rows: IntArray
    fold: IntArray
    proba: FloatArray

    def correct(self, dataset: Dataset, window: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
        """Whether each row of ``window`` (a mask over ``rows``) was called right."""
        called: npt.NDArray[np.bool_] = (self.proba[window] > 0.5) == (dataset.y[self.rows[window]] == 1)
        return called


@dataclass(frozen=True)
class Versus:
    baseline: str
    difference: float
    p_value: float


@dataclass(frozen=True)
class Evaluation:
    name: str
    kind: Kind
    per_fold: pd.DataFrame
    overall: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    versus: Versus | None


def model_predictions(name: str, folds: Sequence[FoldFit]) -> Predictions:
    return Predictions(
        name=name,
        kind="model",
        rows=np.concatenate([fold.test for fold in folds]),
        fold=np.concatenate([np.full(len(fold.test), fold.fold) for fold in folds]),
        proba=np.concatenate([fold.proba for fold in folds]),
    )


def baseline_predictions(dataset: Dataset, template: Predictions, seed: int) -> list[Predictions]:
    """Every baseline on exactly the rows and folds of ``template``."""
    result = []
    for offset, (name, baseline) in enumerate(BASELINES.items()):
        rng = np.random.default_rng([seed, offset])
        proba = baseline(dataset, template.rows, rng)
        result.append(Predictions(name, "baseline", template.rows, template.fold, proba))
    return result


def _figures(
    dataset: Dataset, rows: IntArray, proba: FloatArray, fee: float, bars_per_year: float
) -> dict[str, float]:
    return metrics.figures(
        dataset.y[rows], proba, dataset.label_return[rows], dataset.next_return[rows], fee, bars_per_year
    )


def _sharpe_of(net: FloatArray, bars_per_year: float) -> Callable[[IntArray], float]:
    return lambda rows: metrics.sharpe(net[rows], bars_per_year)


def _intervals(
    dataset: Dataset, predictions: Predictions, config: TrainingConfig, bars_per_year: float
) -> dict[str, tuple[float, float]]:
    rows, proba = predictions.rows, predictions.proba
    correct = (proba > 0.5) == (dataset.y[rows] == 1)
    result = {
        "accuracy": interval(lambda r: float(correct[r].mean()), len(rows), config.evaluation, config.seed)
    }
    for prefix, short in (("long_flat", False), ("long_short", True)):
        net = metrics.net_returns(
            metrics.positions(proba, short=short), dataset.next_return[rows], config.fee
        )
        result[f"{prefix}_sharpe"] = interval(
            _sharpe_of(net, bars_per_year),
            len(rows),
            config.evaluation,
            config.seed,
        )
    return result


def evaluate(
    dataset: Dataset,
    predictions: Predictions,
    config: TrainingConfig,
    bars_per_year: float,
    versus: Versus | None = None,
) -> Evaluation:
    per_fold = pd.DataFrame.from_dict(
        {
            int(fold): _figures(
                dataset, predictions.rows[mask], predictions.proba[mask], config.fee, bars_per_year
            )
            for fold in np.unique(predictions.fold)
            for mask in [predictions.fold == fold]
        },
        orient="index",
    )
    per_fold.index.name = "fold"
    return Evaluation(
        name=predictions.name,
        kind=predictions.kind,
        per_fold=per_fold,
        overall=_figures(dataset, predictions.rows, predictions.proba, config.fee, bars_per_year),
        intervals=_intervals(dataset, predictions, config, bars_per_year),
        versus=versus,
    )


def evaluate_all(
    dataset: Dataset,
    models: Sequence[Predictions],
    baselines: Sequence[Predictions],
    config: TrainingConfig,
    bars_per_year: float,
) -> dict[str, Evaluation]:
    """Baselines first, then each model with its test against the best baseline, keyed by name."""
    result = {b.name: evaluate(dataset, b, config, bars_per_year) for b in baselines}
    best = max(baselines, key=lambda b: result[b.name].overall["accuracy"])
    everything = np.ones(len(best.rows), dtype=bool)
    for model in models:
        difference, p_value = superiority(
            model.correct(dataset, everything),
            best.correct(dataset, everything),
            0.0,
            config.evaluation,
            config.seed,
        )
        result[model.name] = evaluate(
            dataset, model, config, bars_per_year, Versus(best.name, difference, p_value)
        )
    return result


SUMMARY_COLUMNS = (
    "accuracy",
    "balanced_accuracy",
    "roc_auc",
    "log_loss",
    "brier",
    "ic",
    "long_short_hit_rate",
    "long_short_cumulative_return",
    "long_short_sharpe",
    "long_short_max_drawdown",
    "long_flat_cumulative_return",
    "long_flat_sharpe",
    "long_flat_max_drawdown",
)


def summary_frame(evaluations: Mapping[str, Evaluation]) -> pd.DataFrame:
    """One row per predictor (overall out-of-sample figures), with intervals and the baseline test."""
    rows = {}
    for name, evaluation in evaluations.items():
        row: dict[str, object] = {"kind": evaluation.kind}
        row.update({column: evaluation.overall[column] for column in SUMMARY_COLUMNS})
        for metric, (low, high) in evaluation.intervals.items():
            row[f"{metric}_low"], row[f"{metric}_high"] = low, high
        versus = evaluation.versus
        row["vs_baseline"] = versus.baseline if versus else ""
        row["vs_baseline_difference"] = versus.difference if versus else np.nan
        row["vs_baseline_p"] = versus.p_value if versus else np.nan
        rows[name] = row
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "predictor"
    return frame
