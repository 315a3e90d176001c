"""``train_all``: walk-forward every family, evaluate beside the baselines, log to MLflow, run the gate.

This is the one entry point the CLI and the Prefect flow call; everything it decides is in the returned
``TrainingReport`` and in MLflow, nothing is only printed.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import mlflow
import numpy as np
from mlflow.tracking import MlflowClient

from alphapulse.settings import Settings
from alphapulse.timeframes import timeframe_seconds
from alphapulse.training import registry, runlog
from alphapulse.training.config import Profile, TrainingConfig, load_config
from alphapulse.training.dataset import Dataset, FeatureMatrixLike, dataset_from
from alphapulse.training.evaluation import (
    Evaluation,
    Predictions,
    baseline_predictions,
    evaluate_all,
    model_predictions,
)
from alphapulse.training.gate import GateDecision, judge, refusal
from alphapulse.training.models import families, family
from alphapulse.training.predictor import Predictor
from alphapulse.training.selection import choose_challenger, fingerprint, recipe
from alphapulse.training.table import summary_frame
from alphapulse.training.tracking import client, experiment_id
from alphapulse.training.walkforward import FoldFit, fit_predictor, run_fold, splitter, walk_forward

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


def _champion_predictions(
    dataset: Dataset, champion: registry.VersionInfo, config: TrainingConfig
) -> Predictions:
    """The champion's recipe refitted on the latest fold's training rows, predicting the latest window:
    the same rows and the same information the challenger had, so the duel is like for like."""
    subset = dataset.select(champion.feature_columns)
    *_, (train, test) = splitter(subset, config).split(subset.x)
    recipe_family = family(champion.family, champion.params, seed=config.seed, threads=config.threads)
    fold = run_fold(recipe_family, subset, config.model.n_splits - 1, train, test, config)
    return Predictions(
        f"champion v{champion.version}", "model", test, np.full(len(test), fold.fold), fold.proba
    )


def _gate(
    mlflow_client: MlflowClient,
    name: str,
    dataset: Dataset,
    challenger: Predictions,
    challenger_recipe: dict[str, object],
    print_: str,
    baselines: list[Predictions],
    config: TrainingConfig,
) -> tuple[GateDecision, registry.VersionInfo | None]:
    """The decision, and the already registered version that is this very model, if any."""
    known = (
        {info.fingerprint: info for info in registry.versions(mlflow_client, name)}
        if _exists(mlflow_client, name)
        else {}
    )
    if print_ in known:
        same = known[print_]
        why = (
            f"nothing new: {challenger.name} on this data window and config is already version {same.version}"
        )
        return refusal(dataset, challenger, f"{why} ({same.gate or 'not judged'}: {same.reason})"), same
    champion = registry.by_alias(mlflow_client, name, registry.CHAMPION)
    opponents = list(baselines)
    note = None
    if champion is not None:
        champion_recipe = recipe(
            champion.family, champion.params, champion.feature_columns, champion.feature_version
        )
        if champion_recipe == challenger_recipe:
            note = (
                f"same recipe as champion v{champion.version}, refitted on newer data: "
                "judged against the baselines"
            )
        else:
            try:
                opponents.append(_champion_predictions(dataset, champion, config))
            except KeyError as missing:
                why = f"champion v{champion.version} cannot be refitted on these features ({missing})"
                return refusal(dataset, challenger, why), None
    decision = judge(dataset, challenger, opponents, config)
    if note:
        decision = GateDecision(decision.promote, (note, *decision.reasons), decision.duels, decision.window)
    return decision, None


def _exists(mlflow_client: MlflowClient, name: str) -> bool:
    return bool(mlflow_client.search_registered_models(f"name = '{name}'"))


def train_all(
    matrix: FeatureMatrixLike,
    *,
    symbol: str,
    timeframe: str,
    profile: Profile = "fast",
    settings: Settings | None = None,
    config: TrainingConfig | None = None,
) -> TrainingReport:
    """Train, evaluate, log and gate every family on one symbol's feature matrix."""
    config = config or load_config(profile)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    dataset = dataset_from(matrix)
    bars_per_year = SECONDS_PER_YEAR / timeframe_seconds(timeframe)

    models = families(config)
    folds: dict[str, list[FoldFit]] = {m.name: walk_forward(m, dataset, config) for m in models}
    predictions = {name: model_predictions(name, fits) for name, fits in folds.items()}
    seconds["walk_forward"] = time.perf_counter() - started

    baselines = baseline_predictions(dataset, next(iter(predictions.values())), config.seed)
    evaluations = evaluate_all(dataset, list(predictions.values()), baselines, config, bars_per_year)
    seconds["evaluation"] = time.perf_counter() - started - seconds["walk_forward"]

    chosen = choose_challenger(evaluations, list(predictions))
    chosen_family = next(m for m in models if m.name == chosen)
    chosen_recipe = recipe(chosen, chosen_family.params, dataset.feature_columns, dataset.feature_version)
    print_ = fingerprint(chosen_recipe, dataset, config)

    mark = time.perf_counter()
    name = registry.registered_name(symbol, timeframe)
    mlflow_client = client(settings)
    decision, same = _gate(
        mlflow_client, name, dataset, predictions[chosen], chosen_recipe, print_, baselines, config
    )
    seconds["gate"] = time.perf_counter() - mark

    mark = time.perf_counter()
    window = {"data_start": dataset.open_time[0].isoformat(), "data_end": dataset.open_time[-1].isoformat()}
    common_tags = {
        "symbol": symbol,
        "timeframe": timeframe,
        "feature_set_version": dataset.feature_version,
        **window,
    }
    model_uris: dict[str, str] = {}
    predictors: dict[str, Predictor] = {}
    experiment = experiment_id(mlflow_client, name, settings)
    with mlflow.start_run(
        experiment_id=experiment,
        run_name=f"train-{config.profile}",
        tags={**common_tags, "profile": config.profile},
    ) as parent:
        mlflow.log_params(
            {
                "profile": config.profile,
                "fee_bps": config.fee_bps,
                "n_splits": config.model.n_splits,
                **{f"splits.{k}": v for k, v in config.splits.model_dump().items()},
                **{f"gate.{k}": v for k, v in config.gate.model_dump().items()},
                "rows": len(dataset),
            }
        )
        runlog.log_dataset(dataset, f"{symbol} {timeframe} features {dataset.feature_version[:12]}")
        for baseline in baselines:
            runlog.log_evaluation(evaluations[baseline.name], prefix=f"baseline.{baseline.name}.")
        everything = np.arange(len(dataset))
        for model in models:
            with mlflow.start_run(
                experiment_id=experiment,
                run_name=model.name,
                nested=True,
                tags={**common_tags, "family": model.name},
            ):
                runlog.log_family(
                    predictions[model.name], evaluations[model.name], folds[model.name], model.params, dataset
                )
                final, _ = fit_predictor(model, dataset, everything, config)
                predictors[model.name] = final
                model_uris[model.name] = runlog.log_model(final, dataset.features.iloc[-5:])
        runlog.log_report(
            f"{name}: out-of-sample evaluation ({config.profile})",
            dataset,
            summary_frame(evaluations),
            list(predictions.values()),
            baselines[0],
            config.fee,
            decision,
        )
        mlflow.set_tags({"challenger": chosen, "gate": "promoted" if decision.promote else "refused"})
        run_id = parent.info.run_id

    if same is None:
        latest = decision.duels[0].challenger_accuracy if decision.duels else float("nan")
        version_tags = {
            **{k: v if isinstance(v, str) else json.dumps(v) for k, v in chosen_recipe.items()},
            **window,
            "fingerprint": print_,
            "profile": config.profile,
            "latest_window_accuracy": f"{latest:.6f}",
        }
        version = registry.register(mlflow_client, name, model_uris[chosen], version_tags)
        mlflow_client.set_registered_model_alias(name, registry.CHALLENGER, version)
        registry.record_decision(mlflow_client, name, version, decision.promote, " | ".join(decision.reasons))
        if decision.promote:
            registry.make_champion(mlflow_client, name, version)
    else:
        version = same.version
    champion = registry.by_alias(mlflow_client, name, registry.CHAMPION)
    seconds["mlflow"] = time.perf_counter() - mark
    seconds["total"] = time.perf_counter() - started
    return TrainingReport(
        registered_model=name,
        symbol=symbol,
        timeframe=timeframe,
        profile=config.profile,
        feature_version=dataset.feature_version,
        data_start=window["data_start"],
        data_end=window["data_end"],
        rows=len(dataset),
        evaluations=evaluations,
        challenger=chosen,
        version=version,
        decision=decision,
        champion=champion.version if champion else None,
        run_id=run_id,
        predictors=predictors,
        seconds=seconds,
    )
