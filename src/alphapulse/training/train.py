"""``train_all``: walk-forward every family, evaluate beside the baselines, gate, log to MLflow, record.

This is the one entry point the CLI and the Prefect flow call; everything it decides is in the returned
``TrainingReport`` and in MLflow, nothing is only printed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import mlflow
import numpy as np

from alphapulse.features import FeatureMatrix
from alphapulse.settings import Settings
from alphapulse.timeframes import timeframe_seconds
from alphapulse.training import runlog
from alphapulse.training.config import Profile, TrainingConfig, load_config
from alphapulse.training.dataset import Dataset, dataset_from
from alphapulse.training.evaluation import (
    Evaluation,
    Predictions,
    baseline_predictions,
    evaluate_all,
    model_predictions,
    summary_frame,
)
from alphapulse.training.gate import GateDecision, Verdict, choose_challenger, decide, record
from alphapulse.training.models import Fitter, families
from alphapulse.training.predictor import Predictor
from alphapulse.training.registry import CHAMPION, by_alias, registered_name
from alphapulse.training.tracking import client, experiment_id
from alphapulse.training.walkforward import FoldFit, fit_predictor, walk_forward

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
    evaluations: dict[str, Evaluation]


@dataclass(frozen=True)
class _Logged:
    run_id: str
    predictors: dict[str, Predictor]
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
) -> _Evaluated:
    """The families' out-of-sample predictions and the baselines' on the same rows, all scored alike."""
    predictions = {name: model_predictions(name, fits) for name, fits in folds.items()}
    baselines = baseline_predictions(dataset, next(iter(predictions.values())), config.seed)
    bars_per_year = SECONDS_PER_YEAR / timeframe_seconds(timeframe)
    evaluations = evaluate_all(dataset, list(predictions.values()), baselines, config, bars_per_year)
    return _Evaluated(dataset, fitters, folds, predictions, baselines, evaluations)


def _run_params(dataset: Dataset, config: TrainingConfig) -> dict[str, object]:
    return {
        "profile": config.profile,
        "fee_bps": config.fee_bps,
        "n_splits": config.model.n_splits,
        **{f"splits.{k}": v for k, v in config.splits.model_dump().items()},
        **{f"gate.{k}": v for k, v in config.gate.model_dump().items()},
        "rows": len(dataset),
    }


def _fit_and_log_family(
    experiment: str, tags: dict[str, str], fitter: Fitter, evaluated: _Evaluated, config: TrainingConfig
) -> tuple[Predictor, str]:
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
        final, _ = fit_predictor(fitter, dataset, np.arange(len(dataset)), config)
        return final, runlog.log_model(final, dataset.features.iloc[-5:])


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
        mlflow.log_params(_run_params(dataset, config))
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
            dataset,
            summary_frame(evaluated.evaluations),
            list(evaluated.predictions.values()),
            evaluated.baselines[0],
            config.fee,
            verdict.decision,
        )
        mlflow.set_tags(
            {
                "challenger": verdict.challenger.name,
                "gate": "promoted" if verdict.decision.promote else "refused",
            }
        )
        return _Logged(
            run_id=parent.info.run_id,
            predictors={family: predictor for family, (predictor, _) in finals.items()},
            model_uris={family: uri for family, (_, uri) in finals.items()},
        )


def train_all(
    matrix: FeatureMatrix,
    *,
    symbol: str,
    timeframe: str,
    profile: Profile = "fast",
    settings: Settings | None = None,
    config: TrainingConfig | None = None,
) -> TrainingReport:
    """Train, evaluate, log and gate every family on one symbol's feature matrix."""
    config = config or load_config(profile)
    laps = _Laps()
    dataset = dataset_from(matrix)
    fitters = families(config)
    folds = {fitter.name: walk_forward(fitter, dataset, config) for fitter in fitters}
    laps.lap("walk_forward")

    evaluated = _evaluate(dataset, fitters, folds, config, timeframe)
    laps.lap("evaluation")

    name = registered_name(symbol, timeframe)
    mlflow_client = client(settings)
    challenger = choose_challenger(evaluated.evaluations, evaluated.predictions, dataset, config)
    verdict = decide(mlflow_client, name, dataset, challenger, evaluated.baselines, config)
    laps.lap("gate")

    tags = {
        "symbol": symbol,
        "timeframe": timeframe,
        "feature_set_version": dataset.feature_version,
        **dataset.window,
    }
    logged = _log_runs(experiment_id(mlflow_client, name, settings), name, tags, evaluated, verdict, config)
    uri = logged.model_uris[challenger.name]
    version = record(mlflow_client, name, verdict, uri, dataset, matrix.config, config)
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
        predictors=logged.predictors,
        seconds=laps.with_total(),
    )
