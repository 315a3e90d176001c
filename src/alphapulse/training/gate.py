"""The promotion policy: which family is this run's challenger, whether it may replace the champion, and
the record of that decision in the model registry.

The challenger is chosen on every walk-forward window but the latest; the gate then judges it on that
latest window alone, where it must beat the champion and every baseline by the configured accuracy margin
with significance. Judging a single, most recent window keeps the comparison about the regime the model
will trade next, and since the choice never saw that window, the challenger's score there is not inflated
by selection. A challenger that is the same model as a registered version (same recipe, rows and
protocol) is not judged or registered again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from mlflow.tracking import MlflowClient

from alphapulse.features import FeatureConfig
from alphapulse.training.bootstrap import superiority
from alphapulse.training.config import TrainingConfig
from alphapulse.training.dataset import Dataset, IntArray
from alphapulse.training.evaluation import Evaluation, Predictions
from alphapulse.training.models import get_family
from alphapulse.training.registry import (
    CHALLENGER,
    CHAMPION,
    VersionInfo,
    by_alias,
    make_champion,
    register,
    versions,
)
from alphapulse.training.walkforward import run_fold, splitter


@dataclass(frozen=True)
class Challenger:
    """This run's pick: its out-of-sample predictions, the recipe that refits it, and its fingerprint."""

    predictions: Predictions
    recipe: dict[str, Any]
    fingerprint: str

    @property
    def name(self) -> str:
        return self.predictions.name


def recipe(
    family: str, params: Mapping[str, Any], columns: Sequence[str], feature_version: str
) -> dict[str, Any]:
    return {
        "family": family,
        "params": dict(params),
        "feature_columns": list(columns),
        "feature_version": feature_version,
    }


def fingerprint(recipe_: Mapping[str, Any], dataset: Dataset, config: TrainingConfig) -> str:
    """Same recipe, same rows, same evaluation protocol: the same model, so nothing to judge again."""
    payload = {
        **recipe_,
        **dataset.window,
        "rows": len(dataset),
        "splits": config.splits.model_dump(),
        "n_splits": config.model.n_splits,
        "seed": config.seed,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def choose_challenger(
    evaluations: Mapping[str, Evaluation],
    predictions: Mapping[str, Predictions],
    dataset: Dataset,
    config: TrainingConfig,
) -> Challenger:
    """Best mean accuracy over every fold but the latest: the gate judges the latest, so choosing on it
    would let selection luck pass for skill."""

    def earlier_folds(name: str) -> float:
        per_fold = evaluations[name].per_fold
        return float(np.mean(per_fold["accuracy"].iloc[:-1]))

    chosen = max(predictions, key=earlier_folds)
    params = config.model.families[chosen].model_dump()
    chosen_recipe = recipe(chosen, params, dataset.feature_columns, dataset.feature_version)
    return Challenger(predictions[chosen], chosen_recipe, fingerprint(chosen_recipe, dataset, config))


@dataclass(frozen=True)
class Duel:
    opponent: str
    challenger_accuracy: float
    opponent_accuracy: float
    difference: float
    p_value: float
    won: bool

    def describe(self, margin: float, alpha: float) -> str:
        verdict = "beats" if self.won else "does not beat"
        return (
            f"{verdict} {self.opponent}: accuracy {self.challenger_accuracy:.4f} "
            f"vs {self.opponent_accuracy:.4f} "
            f"({self.difference:+.4f}, needs > {margin:+.4f} with p < {alpha}; p = {self.p_value:.3f})"
        )


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    reasons: tuple[str, ...]
    duels: tuple[Duel, ...]
    window: tuple[str, str]


def latest_window(predictions: Predictions) -> IntArray:
    """Dataset rows of the latest walk-forward test window."""
    rows: IntArray = predictions.rows[predictions.fold == predictions.fold.max()]
    return rows


def window_bounds(dataset: Dataset, rows: IntArray) -> tuple[str, str]:
    return dataset.open_time[rows[0]].isoformat(), dataset.open_time[rows[-1]].isoformat()


def _correct_on(dataset: Dataset, predictions: Predictions, rows: IntArray) -> npt.NDArray[np.bool_]:
    where = np.searchsorted(predictions.rows, rows)
    if np.any(where >= len(predictions.rows)) or np.any(
        predictions.rows[np.minimum(where, len(predictions.rows) - 1)] != rows
    ):
        raise ValueError(f"gate: {predictions.name} has no predictions for some rows of the judged window")
    mask = np.zeros(len(predictions.rows), dtype=bool)
    mask[where] = True
    return predictions.correct(dataset, mask)


def judge(
    dataset: Dataset, challenger: Predictions, opponents: Sequence[Predictions], config: TrainingConfig
) -> GateDecision:
    """Duel the challenger against each opponent on the challenger's latest window."""
    rows = latest_window(challenger)
    ours = _correct_on(dataset, challenger, rows)
    duels = []
    for opponent in opponents:
        theirs = _correct_on(dataset, opponent, rows)
        difference, p_value = superiority(ours, theirs, config.gate.margin, config.evaluation, config.seed)
        duels.append(
            Duel(
                opponent=opponent.name,
                challenger_accuracy=float(ours.mean()),
                opponent_accuracy=float(theirs.mean()),
                difference=difference,
                p_value=p_value,
                won=difference > config.gate.margin and p_value < config.gate.alpha,
            )
        )
    lost = [duel for duel in duels if not duel.won]
    reasons = tuple(
        f"{challenger.name} {duel.describe(config.gate.margin, config.gate.alpha)}"
        for duel in (lost or duels)
    )
    return GateDecision(not lost, reasons, tuple(duels), window_bounds(dataset, rows))


def refusal(dataset: Dataset, challenger: Predictions, reason: str) -> GateDecision:
    """A decision made without duels (e.g. nothing new to judge)."""
    return GateDecision(False, (reason,), (), window_bounds(dataset, latest_window(challenger)))


@dataclass(frozen=True)
class Verdict:
    """The decision on a challenger; ``known`` is the registered version that already is this very model."""

    challenger: Challenger
    decision: GateDecision
    known: VersionInfo | None


def _champion_predictions(dataset: Dataset, champion: VersionInfo, config: TrainingConfig) -> Predictions:
    """The champion's recipe refitted on the latest fold's training rows, predicting the latest window:
    the same rows and the same information the challenger had, so the duel is like for like."""
    subset = dataset.select(champion.feature_columns)
    *_, (train, test) = splitter(subset, config).split(subset.x)
    fitter = get_family(champion.family).fitter(champion.params, seed=config.seed, threads=config.threads)
    fold = run_fold(fitter, subset, config.model.n_splits - 1, train, test, config)
    return Predictions(
        f"champion v{champion.version}", "model", test, np.full(len(test), fold.fold), fold.proba
    )


def _exists(mlflow_client: MlflowClient, name: str) -> bool:
    return bool(mlflow_client.search_registered_models(f"name = '{name}'"))


def decide(
    mlflow_client: MlflowClient,
    name: str,
    dataset: Dataset,
    challenger: Challenger,
    baselines: Sequence[Predictions],
    config: TrainingConfig,
) -> Verdict:
    """Judge the challenger against the baselines and the current champion of registered model ``name``.

    A champion with the challenger's very recipe is only older data, so it is not an opponent; one that
    cannot be refitted on the current features refuses the challenger rather than skipping the duel.
    """
    known = (
        {info.fingerprint: info for info in versions(mlflow_client, name)}
        if _exists(mlflow_client, name)
        else {}
    )
    if challenger.fingerprint in known:
        same = known[challenger.fingerprint]
        why = (
            f"nothing new: {challenger.name} on this data window and config is already version {same.version}"
        )
        reason = f"{why} ({same.gate or 'not judged'}: {same.reason})"
        return Verdict(challenger, refusal(dataset, challenger.predictions, reason), same)
    champion = by_alias(mlflow_client, name, CHAMPION)
    opponents = list(baselines)
    note = None
    if champion is not None:
        champion_recipe = recipe(
            champion.family, champion.params, champion.feature_columns, champion.feature_version
        )
        if champion_recipe == challenger.recipe:
            note = (
                f"same recipe as champion v{champion.version}, refitted on newer data: "
                "judged against the baselines"
            )
        else:
            try:
                opponents.append(_champion_predictions(dataset, champion, config))
            except KeyError as missing:
                why = f"champion v{champion.version} cannot be refitted on these features ({missing})"
                return Verdict(challenger, refusal(dataset, challenger.predictions, why), None)
    decision = judge(dataset, challenger.predictions, opponents, config)
    if note:
        decision = GateDecision(decision.promote, (note, *decision.reasons), decision.duels, decision.window)
    return Verdict(challenger, decision, None)


def record(
    mlflow_client: MlflowClient,
    name: str,
    verdict: Verdict,
    model_uri: str,
    dataset: Dataset,
    features: FeatureConfig,
    config: TrainingConfig,
) -> str:
    """Register the challenger's logged model as the ``challenger`` with its recipe, the feature config
    its matrix was built with and the decision, and make it the champion if promoted; returns its version
    (the known one if it is nothing new)."""
    if verdict.known is not None:
        return verdict.known.version
    decision = verdict.decision
    latest = decision.duels[0].challenger_accuracy if decision.duels else float("nan")
    tags = {
        **{k: v if isinstance(v, str) else json.dumps(v) for k, v in verdict.challenger.recipe.items()},
        **dataset.window,
        "feature_config": features.canonical_json(),
        "fingerprint": verdict.challenger.fingerprint,
        "profile": config.profile,
        "latest_window_accuracy": f"{latest:.6f}",
    }
    version = register(mlflow_client, name, model_uri, tags)
    mlflow_client.set_registered_model_alias(name, CHALLENGER, version)
    mlflow_client.set_model_version_tag(name, version, "gate", "promoted" if decision.promote else "refused")
    mlflow_client.set_model_version_tag(name, version, "gate_reason", " | ".join(decision.reasons)[:4900])
    if decision.promote:
        make_champion(mlflow_client, name, version)
    return version
