"""``train_all``: walk-forward every family, evaluate beside the baselines, gate, log to MLflow, record.

This is the one entry point the CLI and the Prefect flow call; everything it decides is in the returned
``TrainingReport`` and in MLflow, nothing is only printed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import mlflow
import numpy as np

from alphapulse.decisions import FittedRule
from alphapulse.features import FeatureMatrix
from alphapulse.settings import Settings
from alphapulse.timeframes import timeframe_seconds
from alphapulse.training import runlog, tuning
from alphapulse.training.config import Profile, TrainingConfig, load_config
from alphapulse.training.dataset import Dataset, dataset_from
from alphapulse.training.evaluation import (
    Evaluation,
    Predictions,
    Track,
    abstain_on,
    baseline_predictions,
    evaluate_all,
    model_predictions,
    summary_frame,
    tracks_of,
)
from alphapulse.training.gate import (
    GateDecision,
    Judged,
    TrainedAs,
    Verdict,
    choose_challenger,
    decide,
    record,
)
from alphapulse.training.models import Fitter, families
from alphapulse.training.predictor import Predictor
from alphapulse.training.registry import CHAMPION, by_alias, registered_name
from alphapulse.training.tracking import client, experiment_id
from alphapulse.training.walkforward import FoldFit, TrainedFit, fit_predictor, walk_forward

SECONDS_PER_YEAR = 365.25 * 86_400


@dataclass(frozen=True)
class TrainingReport:
    registered_model: str
    symbol: str
    timeframe: str
    profile: str
    feature_version: str
    data_start: str
    data_end: str
    rows: int
    evaluations: dict[str, Evaluation]
    challenger: str
    version: str
    decision: GateDecision
    champion: str | None
    run_id: str
    #: Each family refitted on all rows: what was logged, and what serving loads back bit for bit.
    predictors: dict[str, Predictor] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class _Evaluated:
    """Every family walked forward and scored beside the baselines: what the gate and the run log read."""

    dataset: Dataset
    fitters: list[Fitter]
    folds: dict[str, list[FoldFit]]
    predictions: dict[str, Predictions]
    baselines: list[Predictions]
    tracks: dict[str, Track]
    evaluations: dict[str, Evaluation]
    cost: float
    bars_per_year: float


@dataclass(frozen=True)
class _Logged:
    run_id: str
    finals: dict[str, TrainedFit]
    model_uris: dict[str, str]


class _Laps:
    """Wall time of each step since the previous one, for ``TrainingReport.seconds``."""

    def __init__(self) -> None:
        self.started = self._last = time.perf_counter()
        self.seconds: dict[str, float] = {}

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.seconds[step], self._last = now - self._last, now

    def with_total(self) -> dict[str, float]:
        return {**self.seconds, "total": time.perf_counter() - self.started}


def _evaluate(
    dataset: Dataset,
    fitters: list[Fitter],
    folds: dict[str, list[FoldFit]],
    config: TrainingConfig,
    timeframe: str,
    cost: float,
) -> _Evaluated:
    """The families' out-of-sample predictions and the baselines' on the same rows, all traded by the
    same rule at the same costs and scored alike."""
    rule = config.decision
    predictions = {name: model_predictions(name, fits, dataset, rule, cost) for name, fits in folds.items()}
    models = list(predictions.values())
    baselines = baseline_predictions(dataset, models[0], config.seed)
    tracks = tracks_of(dataset, [*baselines, *models], rule, cost)
    bars_per_year = SECONDS_PER_YEAR / timeframe_seconds(timeframe)
    evaluations = evaluate_all(dataset, models, baselines, tracks, config, bars_per_year)
    return _Evaluated(
        dataset, fitters, folds, predictions, baselines, tracks, evaluations, cost, bars_per_year
    )


def _run_params(dataset: Dataset, config: TrainingConfig, cost: float) -> dict[str, object]:
    return {
        "profile": config.profile,
        "cost_bps": cost * 10_000,
        "n_splits": config.model.n_splits,
        **{f"tuning.{k}": v for k, v in config.model.tuning.model_dump().items()},
        **{f"decision.{k}": v for k, v in config.decision.model_dump().items()},
        **{f"splits.{k}": v for k, v in config.splits.model_dump().items()},
        **{f"gate.{k}": v for k, v in config.gate.model_dump().items()},
        "rows": len(dataset),
    }


def _fit_and_log_family(
    experiment: str, tags: dict[str, str], fitter: Fitter, evaluated: _Evaluated, config: TrainingConfig
) -> tuple[TrainedFit, str]:
    """A nested run with the family's walk-forward figures and its model refitted on every row, the model
    the gate registers if the family is the challenger; returns that predictor and its model URI."""
    dataset = evaluated.dataset
    with mlflow.start_run(
        experiment_id=experiment, run_name=fitter.name, nested=True, tags={**tags, "family": fitter.name}
    ):
        runlog.log_family(
            evaluated.predictions[fitter.name],
            evaluated.evaluations[fitter.name],
            evaluated.folds[fitter.name],
            fitter.params,
            dataset,
        )
        for fold in evaluated.folds[fitter.name]:
            tuning.log_trials(fitter.name, fold.fold, fold.trials)
        final = fit_predictor(fitter, dataset, np.arange(len(dataset)), config)
        tuning.log_trials(fitter.name, None, final.trials)
        mlflow.log_dict(final.params, "fitted_params.json")
        return final, runlog.log_model(final.predictor, dataset.features.iloc[-5:])


def _log_runs(
    experiment: str,
    name: str,
    tags: dict[str, str],
    evaluated: _Evaluated,
    verdict: Verdict,
    config: TrainingConfig,
) -> _Logged:
    """The parent run (data, baselines, report, gate decision) around one nested run per family."""
    dataset = evaluated.dataset
    with mlflow.start_run(
        experiment_id=experiment, run_name=f"train-{config.profile}", tags={**tags, "profile": config.profile}
    ) as parent:
        mlflow.log_params(_run_params(dataset, config, evaluated.cost))
        runlog.log_dataset(
            dataset, f"{tags['symbol']} {tags['timeframe']} features {dataset.feature_version[:12]}"
        )
        for baseline in evaluated.baselines:
            runlog.log_evaluation(evaluated.evaluations[baseline.name], prefix=f"baseline.{baseline.name}.")
        finals = {
            fitter.name: _fit_and_log_family(experiment, tags, fitter, evaluated, config)
            for fitter in evaluated.fitters
        }
        runlog.log_report(
            f"{name}: out-of-sample evaluation ({config.profile})",
            list(evaluated.tracks.values()),
            summary_frame(evaluated.evaluations),
            verdict.decision,
            evaluated.bars_per_year,
        )
        mlflow.set_tags(
            {
                "challenger": verdict.challenger.name,
                "gate": "promoted" if verdict.decision.promote else "refused",
            }
        )
        return _Logged(
            run_id=parent.info.run_id,
            finals={family: final for family, (final, _) in finals.items()},
            model_uris={family: uri for family, (_, uri) in finals.items()},
        )


def train_all(
    matrix: FeatureMatrix,
    *,
    symbol: str,
    timeframe: str,
    exchange: str | None = None,
    profile: Profile = "fast",
    settings: Settings | None = None,
    config: TrainingConfig | None = None,
) -> TrainingReport:
    """Train, evaluate, log and gate every family on one symbol's feature matrix, at ``exchange``'s costs."""
    config = config or load_config(profile)
    cost = config.costs.of(exchange).per_unit
    laps = _Laps()
    dataset = dataset_from(matrix)
    fitters = families(config)
    folds = {fitter.name: walk_forward(fitter, dataset, config) for fitter in fitters}
    laps.lap("walk_forward")

    evaluated = _evaluate(dataset, fitters, folds, config, timeframe, cost)
    laps.lap("evaluation")

    name = registered_name(symbol, timeframe)
    mlflow_client = client(settings)
    challenger = choose_challenger(evaluated.evaluations, evaluated.predictions, dataset, config)
    judged = Judged(
        config, cost, evaluated.bars_per_year, evaluated.baselines, list(evaluated.predictions.values())
    )
    verdict = decide(mlflow_client, name, dataset, challenger, judged)
    laps.lap("gate")

    tags = {
        "symbol": symbol,
        "timeframe": timeframe,
        "feature_set_version": dataset.feature_version,
        **dataset.window,
    }
    logged = _log_runs(experiment_id(mlflow_client, name, settings), name, tags, evaluated, verdict, config)
    uri = logged.model_uris[challenger.name]
    final = logged.finals[challenger.name]
    rule = FittedRule.of(
        config.decision, abstain_on(dataset, final.validation, final.validation_proba, config.decision, cost)
    )
    trained = TrainedAs(final.params, rule)
    version = record(mlflow_client, name, verdict, uri, dataset, matrix.config, config, trained)
    champion = by_alias(mlflow_client, name, CHAMPION)
    laps.lap("mlflow")
    return TrainingReport(
        registered_model=name,
        symbol=symbol,
        timeframe=timeframe,
        profile=config.profile,
        feature_version=dataset.feature_version,
        data_start=dataset.window["data_start"],
        data_end=dataset.window["data_end"],
        rows=len(dataset),
        evaluations=evaluated.evaluations,
        challenger=challenger.name,
        version=version,
        decision=verdict.decision,
        champion=champion.version if champion else None,
        run_id=logged.run_id,
        predictors={family: final.predictor for family, final in logged.finals.items()},
        seconds=laps.with_total(),
    )
