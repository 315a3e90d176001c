"""The promotion policy: which family is this run's challenger, whether it may replace the champion, and
the record of that decision in the model registry.

The challenger is chosen on every walk-forward window but the latest; the gate then judges it on that
latest window alone. It is promoted only if all of these hold there, and every refusal names the failed
conditions with their figures:

- it beats every baseline and the champion on the configured primary metric (accuracy, or the per-bar
  net return of its strategy) by the margin, with significance (paired block bootstrap);
- its strategy under the decision rule makes money after costs: net return and net Sharpe positive, and
  the Sharpe's lower confidence bound above the floor (by default: not below buy-and-hold's);
- Hansen's SPA test of all families against each baseline rejects "none is better": several families
  were tried, and the best of several looks better than it is.

Judging a single, most recent window keeps the comparison about the regime the model will trade next,
and since the choice never saw that window, the challenger's score there is not inflated by selection.
A challenger that is the same model as a registered version (same recipe, rows and protocol) is not
judged or registered again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from mlflow.tracking import MlflowClient

from alphapulse import decisions
from alphapulse.decisions import FittedRule
from alphapulse.features import FeatureConfig
from alphapulse.training import metrics
from alphapulse.training.baselines import BUY_AND_HOLD
from alphapulse.training.bootstrap import interval, superiority
from alphapulse.training.config import PrimaryMetric, TrainingConfig
from alphapulse.training.dataset import Dataset, IntArray
from alphapulse.training.evaluation import Evaluation, Predictions, Track, model_predictions, scores, track
from alphapulse.training.models import get_family
from alphapulse.training.registry import (
    CHALLENGER,
    CHAMPION,
    DECISION_RULE_TAG,
    VersionInfo,
    by_alias,
    make_champion,
    register,
    versions,
)
from alphapulse.training.snooping import spa_p_value
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
        "tuning": config.model.tuning.model_dump(),
        "decision": config.decision.model_dump(),
        "costs": config.costs.model_dump(),
        "seed": config.seed,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def choose_challenger(
    evaluations: Mapping[str, Evaluation],
    predictions: Mapping[str, Predictions],
    dataset: Dataset,
    config: TrainingConfig,
) -> Challenger:
    """Best mean of the primary metric over every fold but the latest: the gate judges the latest, so
    choosing on it would let selection luck pass for skill."""
    column = "accuracy" if config.gate.primary_metric == "accuracy" else "net_return"

    def earlier_folds(name: str) -> float:
        per_fold = evaluations[name].per_fold
        return float(np.mean(per_fold[column].iloc[:-1]))

    chosen = max(predictions, key=earlier_folds)
    params = config.model.families[chosen].model_dump()
    chosen_recipe = recipe(chosen, params, dataset.feature_columns, dataset.feature_version)
    return Challenger(predictions[chosen], chosen_recipe, fingerprint(chosen_recipe, dataset, config))


@dataclass(frozen=True)
class Duel:
    opponent: str
    metric: PrimaryMetric
    challenger_score: float
    opponent_score: float
    difference: float
    p_value: float
    won: bool

    def describe(self, margin: float, alpha: float) -> str:
        verdict = "beats" if self.won else "does not beat"
        return (
            f"{verdict} {self.opponent} on {self.metric}: {score_text(self.metric, self.challenger_score)} "
            f"vs {score_text(self.metric, self.opponent_score)} "
            f"({self.difference:+.6f} per bar, needs > {margin:+.6f} with p < {alpha}; "
            f"p = {self.p_value:.3f})"
        )


def score_text(metric: PrimaryMetric, value: float) -> str:
    """A per-bar score as people read it: accuracy as a share, a net return in basis points per bar."""
    return f"{value:.4f}" if metric == "accuracy" else f"{value * 10_000:+.2f} bp/bar"


@dataclass(frozen=True)
class Check:
    """One condition besides the duels (the strategy's economics, the data-snooping test): whether it
    held, and the figures that say so."""

    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    reasons: tuple[str, ...]
    duels: tuple[Duel, ...]
    window: tuple[str, str]
    checks: tuple[Check, ...] = ()


@dataclass(frozen=True)
class Judged:
    """What the gate judges with: the rule and costs, the baselines, every family's predictions (for the
    data-snooping test), and the bars per year the Sharpe ratios are annualised with."""

    config: TrainingConfig
    cost: float
    bars_per_year: float
    baselines: Sequence[Predictions]
    families: Sequence[Predictions]


def latest_window(predictions: Predictions) -> IntArray:
    """Dataset rows of the latest walk-forward test window."""
    rows: IntArray = predictions.rows[predictions.fold == predictions.fold.max()]
    return rows


def window_bounds(dataset: Dataset, rows: IntArray) -> tuple[str, str]:
    return dataset.open_time[rows[0]].isoformat(), dataset.open_time[rows[-1]].isoformat()


def _on(predictions: Predictions, rows: IntArray) -> Predictions:
    """``predictions`` restricted to ``rows`` (which it must all cover)."""
    where = np.searchsorted(predictions.rows, rows)
    if np.any(where >= len(predictions.rows)) or np.any(
        predictions.rows[np.minimum(where, len(predictions.rows) - 1)] != rows
    ):
        raise ValueError(f"gate: {predictions.name} has no predictions for some rows of the judged window")
    return replace(
        predictions,
        rows=predictions.rows[where],
        fold=predictions.fold[where],
        proba=predictions.proba[where],
        abstain=predictions.abstain[where],
    )


def _duel(ours: Track, theirs: Track, config: TrainingConfig) -> Duel:
    metric, gate = config.gate.primary_metric, config.gate
    mine, other = scores(ours, metric), scores(theirs, metric)
    difference, p_value = superiority(mine, other, gate.margin, config.evaluation, config.seed)
    return Duel(
        opponent=theirs.name,
        metric=metric,
        challenger_score=float(mine.mean()),
        opponent_score=float(other.mean()),
        difference=difference,
        p_value=p_value,
        won=difference > gate.margin and p_value < gate.alpha,
    )


def economics(ours: Track, market: Track, judged: Judged) -> tuple[Check, ...]:
    """The challenger's strategy must make money after costs, with a Sharpe ratio whose lower confidence
    bound clears the floor (by default: buy-and-hold's, compared on the same resampled bars)."""
    config, per_year = judged.config, judged.bars_per_year
    figures = metrics.trading(ours.position, ours.net_return, ours.market_return, per_year)
    net, hold = ours.net_return, market.net_return
    floor = config.gate.sharpe_floor
    if floor == "buy_and_hold":
        low, _ = interval(
            lambda r: decisions.sharpe(net[r], per_year) - decisions.sharpe(hold[r], per_year),
            len(net),
            config.evaluation,
            config.seed,
        )
        hold_sharpe = decisions.sharpe(hold, per_year)
        bound = Check(
            "sharpe_vs_buy_and_hold",
            bool(low > 0),
            f"net Sharpe {figures['sharpe']:.2f} vs buy-and-hold's {hold_sharpe:.2f}: lower "
            f"{config.evaluation.confidence:.0%} bound of the difference {low:+.2f}, needs > 0",
        )
    else:
        low, _ = interval(
            lambda r: decisions.sharpe(net[r], per_year), len(net), config.evaluation, config.seed
        )
        bound = Check(
            "sharpe_floor",
            bool(low > floor),
            f"net Sharpe {figures['sharpe']:.2f}: lower {config.evaluation.confidence:.0%} bound {low:.2f}, "
            f"needs > {floor:.2f}",
        )
    cost_bps = judged.cost * 10_000
    return (
        Check(
            "net_return",
            bool(figures["net_return"] > 0),
            f"net return {figures['net_return']:+.2%} after {cost_bps:g} bp per unit traded "
            f"({figures['trades']:.0f} trades, exposure {figures['exposure']:.0%}), needs > 0",
        ),
        Check("net_sharpe", bool(figures["sharpe"] > 0), f"net Sharpe {figures['sharpe']:.2f}, needs > 0"),
        bound,
    )


def snooping(
    tracks: Mapping[str, Track], baselines: Sequence[Track], config: TrainingConfig
) -> tuple[Check, ...]:
    """Hansen's SPA of all families against each baseline: the challenger was one of several tried."""
    metric = config.gate.primary_metric
    losses = np.column_stack([-scores(item, metric) for item in tracks.values()])
    checks = []
    for baseline in baselines:
        p_value = spa_p_value(
            -scores(baseline, metric),
            losses,
            block=config.evaluation.block_bars,
            reps=config.gate.spa_reps,
            seed=config.seed,
        )
        checks.append(
            Check(
                f"spa_vs_{baseline.name}",
                p_value < config.gate.alpha,
                f"SPA over {len(tracks)} families vs {baseline.name} on {metric}: p = {p_value:.3f}, "
                f"needs < {config.gate.alpha}",
            )
        )
    return tuple(checks)


def judge(
    dataset: Dataset, challenger: Predictions, champion: Predictions | None, judged: Judged
) -> GateDecision:
    """Duel the challenger against each baseline and the champion on its latest window, check its
    strategy's economics there, and correct for having tried several families."""
    config, rows = judged.config, latest_window(challenger)

    def on_window(predictions: Predictions) -> Track:
        return track(dataset, _on(predictions, rows), config.decision, judged.cost)

    ours = on_window(challenger)
    baselines = [on_window(b) for b in judged.baselines]
    opponents = [*baselines, *([on_window(champion)] if champion is not None else [])]
    duels = tuple(_duel(ours, theirs, config) for theirs in opponents)
    market = next(b for b in baselines if b.name == BUY_AND_HOLD)
    checks = (
        *economics(ours, market, judged),
        *snooping({f.name: on_window(f) for f in judged.families}, baselines, config),
    )
    lost = [duel for duel in duels if not duel.won]
    failed = [check for check in checks if not check.passed]
    margin, alpha = config.gate.margin, config.gate.alpha
    described = [
        f"{challenger.name} {duel.describe(margin, alpha)}" for duel in (lost if lost or failed else duels)
    ]
    explained = [f"{check.name}: {check.detail}" for check in (failed if lost or failed else checks)]
    return GateDecision(
        not lost and not failed, (*described, *explained), duels, window_bounds(dataset, rows), checks
    )


def refusal(dataset: Dataset, challenger: Predictions, reason: str) -> GateDecision:
    """A decision made without duels (e.g. nothing new to judge)."""
    return GateDecision(False, (reason,), (), window_bounds(dataset, latest_window(challenger)))


@dataclass(frozen=True)
class TrainedAs:
    """How the registered model itself was fitted on every row: the params (tuned or as configured) and
    the decision rule with the band chosen on its own training span."""

    params: dict[str, Any]
    rule: FittedRule


@dataclass(frozen=True)
class Verdict:
    """The decision on a challenger; ``known`` is the registered version that already is this very model."""

    challenger: Challenger
    decision: GateDecision
    known: VersionInfo | None


def _champion_predictions(
    dataset: Dataset, champion: VersionInfo, config: TrainingConfig, cost: float
) -> Predictions:
    """The champion's recipe refitted on the latest fold's training rows, predicting the latest window:
    the same rows and the same information the challenger had, so the duel is like for like."""
    subset = dataset.select(champion.feature_columns)
    *_, (train, test) = splitter(subset, config).split(subset.x)
    fitter = get_family(champion.family).fitter(champion.params, seed=config.seed, threads=config.threads)
    fold = run_fold(fitter, subset, config.model.n_splits - 1, train, test, config)
    return model_predictions(f"champion v{champion.version}", [fold], subset, config.decision, cost)


def _exists(mlflow_client: MlflowClient, name: str) -> bool:
    return bool(mlflow_client.search_registered_models(f"name = '{name}'"))


def decide(
    mlflow_client: MlflowClient, name: str, dataset: Dataset, challenger: Challenger, judged: Judged
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
    config = judged.config
    champion = by_alias(mlflow_client, name, CHAMPION)
    refitted = None
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
                refitted = _champion_predictions(dataset, champion, config, judged.cost)
            except KeyError as missing:
                why = f"champion v{champion.version} cannot be refitted on these features ({missing})"
                return Verdict(challenger, refusal(dataset, challenger.predictions, why), None)
    decision = judge(dataset, challenger.predictions, refitted, judged)
    if note:
        decision = replace(decision, reasons=(note, *decision.reasons))
    return Verdict(challenger, decision, None)


def record(
    mlflow_client: MlflowClient,
    name: str,
    verdict: Verdict,
    model_uri: str,
    dataset: Dataset,
    features: FeatureConfig,
    config: TrainingConfig,
    trained: TrainedAs,
) -> str:
    """Register the challenger's logged model as the ``challenger`` with its recipe, the feature config
    its matrix was built with, the rule it decides with, the params it was fitted with, and the decision;
    make it the champion if promoted; returns its version (the known one if it is nothing new)."""
    if verdict.known is not None:
        return verdict.known.version
    decision = verdict.decision
    predictions = verdict.challenger.predictions
    latest = _on(predictions, latest_window(predictions))
    accuracy = float(np.mean((latest.proba > 0.5) == (dataset.y[latest.rows] == 1)))
    tags = {
        **{k: v if isinstance(v, str) else json.dumps(v) for k, v in verdict.challenger.recipe.items()},
        **dataset.window,
        "feature_config": features.canonical_json(),
        "fingerprint": verdict.challenger.fingerprint,
        "profile": config.profile,
        "latest_window_accuracy": f"{accuracy:.6f}",
        DECISION_RULE_TAG: trained.rule.model_dump_json(),
        "fitted_params": json.dumps(trained.params, sort_keys=True),
    }
    version = register(mlflow_client, name, model_uri, tags)
    mlflow_client.set_registered_model_alias(name, CHALLENGER, version)
    mlflow_client.set_model_version_tag(name, version, "gate", "promoted" if decision.promote else "refused")
    mlflow_client.set_model_version_tag(name, version, "gate_reason", " | ".join(decision.reasons)[:4900])
    if decision.promote:
        make_champion(mlflow_client, name, version)
    return version
