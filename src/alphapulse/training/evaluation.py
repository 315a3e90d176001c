"""Per-fold and overall figures of every model and baseline on the same out-of-sample rows.

Models and baselines are scored by the same functions over the same rows, each traded by the configured
decision rule after costs, with block-bootstrap intervals; each model is tested against the best baseline
on the gate's primary metric (best chosen after the fact, which favours the baseline: the test is
conservative). ``summary_frame`` lays them out one row per predictor:
the data behind the run's CSV and HTML report and the command line's table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from alphapulse import decisions
from alphapulse.decisions import DecisionRule
from alphapulse.training import metrics
from alphapulse.training.baselines import BASELINES
from alphapulse.training.bootstrap import interval, superiority
from alphapulse.training.config import PrimaryMetric, TrainingConfig
from alphapulse.training.dataset import Dataset, FloatArray, IntArray
from alphapulse.training.walkforward import FoldFit

Kind = Literal["model", "baseline"]
INTERVAL_METRICS = ("accuracy", "sharpe")


@dataclass(frozen=True)
class Predictions:
    """Out-of-sample up-probabilities of one predictor, on dataset rows in time order, with the abstain
    band θ each row's fold chose on its own training span (0 for baselines)."""

    name: str
    kind: Kind
    rows: IntArray
    fold: IntArray
    proba: FloatArray
    abstain: FloatArray


@dataclass(frozen=True)
class Track:
    """One predictor's strategy under the configured decision rule over its out-of-sample bars, net of
    costs, beside the market: what the trader's report draws and the economic gate judges."""

    name: str
    kind: Kind
    open_time: pd.DatetimeIndex
    close: FloatArray
    y: FloatArray
    proba: FloatArray
    abstain: FloatArray
    #: Position held over the next bar (+ long, − short, 0 flat; sized when volatility-targeted).
    position: FloatArray
    #: Units traded at the bar's close to reach ``position``.
    turnover: FloatArray
    #: The strategy's simple return over the next bar, after costs.
    net_return: FloatArray
    #: Buy-and-hold's simple return over the same bar.
    market_return: FloatArray


def track(dataset: Dataset, predictions: Predictions, rule: DecisionRule, cost: float) -> Track:
    rows = predictions.rows
    volatility = None if dataset.volatility is None else dataset.volatility[rows]
    position = decisions.positions(rule, predictions.proba, predictions.abstain, volatility)
    return Track(
        name=predictions.name,
        kind=predictions.kind,
        open_time=dataset.open_time[rows],
        close=dataset.close[rows],
        y=dataset.y[rows],
        proba=predictions.proba,
        abstain=predictions.abstain,
        position=position,
        turnover=decisions.turnover(position),
        net_return=decisions.net_returns(position, dataset.next_return[rows], cost),
        market_return=np.expm1(dataset.next_return[rows]),
    )


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


def model_predictions(
    name: str, folds: Sequence[FoldFit], dataset: Dataset, rule: DecisionRule, cost: float
) -> Predictions:
    """A family's out-of-sample predictions; each fold's abstain band is chosen on that fold's own inner
    validation slice (inside its training span), never on its test window."""
    return Predictions(
        name=name,
        kind="model",
        rows=np.concatenate([fold.test for fold in folds]),
        fold=np.concatenate([np.full(len(fold.test), fold.fold) for fold in folds]),
        proba=np.concatenate([fold.proba for fold in folds]),
        abstain=np.concatenate(
            [np.full(len(fold.test), fold_abstain(fold, dataset, rule, cost)) for fold in folds]
        ),
    )


def fold_abstain(fold: FoldFit, dataset: Dataset, rule: DecisionRule, cost: float) -> float:
    return abstain_on(dataset, fold.validation, fold.validation_proba, rule, cost)


def abstain_on(dataset: Dataset, rows: IntArray, proba: FloatArray, rule: DecisionRule, cost: float) -> float:
    """The rule's θ chosen on these training rows' predictions."""
    volatility = None if dataset.volatility is None else dataset.volatility[rows]
    return decisions.choose_abstain(rule, proba, dataset.next_return[rows], cost, volatility)


def baseline_predictions(dataset: Dataset, template: Predictions, seed: int) -> list[Predictions]:
    """Every baseline on exactly the rows and folds of ``template``; baselines have no band (θ = 0)."""
    result = []
    for offset, (name, baseline) in enumerate(BASELINES.items()):
        rng = np.random.default_rng([seed, offset])
        proba = baseline(dataset, template.rows, rng)
        result.append(
            Predictions(name, "baseline", template.rows, template.fold, proba, np.zeros(len(template.rows)))
        )
    return result


def _figures(
    dataset: Dataset,
    predictions: Predictions,
    strategy: Track,
    mask: npt.NDArray[np.bool_],
    bars_per_year: float,
) -> dict[str, float]:
    rows = np.flatnonzero(mask)
    result = metrics.classification(strategy.y[rows], strategy.proba[rows])
    result["ic"] = metrics.information_coefficient(
        strategy.proba[rows], dataset.label_return[predictions.rows[rows]]
    )
    result["abstain"] = float(np.mean(strategy.abstain[rows]))
    result.update(
        metrics.trading(
            strategy.position[rows], strategy.net_return[rows], strategy.market_return[rows], bars_per_year
        )
    )
    return result


def _intervals(
    strategy: Track, config: TrainingConfig, bars_per_year: float
) -> dict[str, tuple[float, float]]:
    correct = (strategy.proba > 0.5) == (strategy.y == 1)
    net = strategy.net_return
    n = len(net)
    return {
        "accuracy": interval(lambda r: float(correct[r].mean()), n, config.evaluation, config.seed),
        "sharpe": interval(
            lambda r: decisions.sharpe(net[r], bars_per_year), n, config.evaluation, config.seed
        ),
    }


def scores(strategy: Track, metric: PrimaryMetric) -> FloatArray:
    """Per-bar scores of the primary metric: whether the direction was called right, or the net return."""
    if metric == "accuracy":
        correct: FloatArray = ((strategy.proba > 0.5) == (strategy.y == 1)).astype(np.float64)
        return correct
    return strategy.net_return


def evaluate(
    dataset: Dataset,
    predictions: Predictions,
    strategy: Track,
    config: TrainingConfig,
    bars_per_year: float,
    versus: Versus | None = None,
) -> Evaluation:
    fold = predictions.fold
    per_fold = pd.DataFrame.from_dict(
        {int(k): _figures(dataset, predictions, strategy, fold == k, bars_per_year) for k in np.unique(fold)},
        orient="index",
    )
    per_fold.index.name = "fold"
    everything = np.ones(len(fold), dtype=bool)
    return Evaluation(
        name=strategy.name,
        kind=strategy.kind,
        per_fold=per_fold,
        overall=_figures(dataset, predictions, strategy, everything, bars_per_year),
        intervals=_intervals(strategy, config, bars_per_year),
        versus=versus,
    )


def tracks_of(
    dataset: Dataset, predictions: Sequence[Predictions], rule: DecisionRule, cost: float
) -> dict[str, Track]:
    return {p.name: track(dataset, p, rule, cost) for p in predictions}


def evaluate_all(
    dataset: Dataset,
    models: Sequence[Predictions],
    baselines: Sequence[Predictions],
    tracks: Mapping[str, Track],
    config: TrainingConfig,
    bars_per_year: float,
) -> dict[str, Evaluation]:
    """Baselines first, then each model with its test against the best baseline on the gate's primary
    metric and margin (over every fold here; the gate judges the latest alone), keyed by name."""
    metric = config.gate.primary_metric
    result = {b.name: evaluate(dataset, b, tracks[b.name], config, bars_per_year) for b in baselines}
    best = max(baselines, key=lambda b: float(np.mean(scores(tracks[b.name], metric))))
    for model in models:
        difference, p_value = superiority(
            scores(tracks[model.name], metric),
            scores(tracks[best.name], metric),
            config.gate.margin,
            config.evaluation,
            config.seed,
        )
        result[model.name] = evaluate(
            dataset, model, tracks[model.name], config, bars_per_year, Versus(best.name, difference, p_value)
        )
    return result


SUMMARY_COLUMNS = (
    "accuracy",
    "balanced_accuracy",
    "roc_auc",
    "log_loss",
    "brier",
    "ic",
    "abstain",
    "exposure",
    "trades",
    "turnover",
    "hit_rate",
    "net_return",
    "sharpe",
    "max_drawdown",
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
