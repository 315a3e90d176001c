"""Walk-forward models beside baselines on synthetic data, and the gate's verdict on them: a signal that
pays for its trading is promoted, the same signal under costs that eat it is refused for that reason,
noise is refused, and the abstain band is never fitted on the window being judged."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from alphapulse import decisions
from alphapulse.training.config import TrainingConfig
from alphapulse.training.dataset import Dataset, dataset_from
from alphapulse.training.evaluation import (
    Predictions,
    baseline_predictions,
    evaluate_all,
    model_predictions,
    tracks_of,
)
from alphapulse.training.gate import GateDecision, Judged, judge, latest_window
from alphapulse.training.models import families
from alphapulse.training.walkforward import FoldFit, walk_forward
from tests.unit.training.synthetic import small_config, synthetic_matrix

BARS_PER_YEAR = 8766.0
CHEAP = 1 * decisions.BASIS_POINT
#: Far more than the planted signal earns per unit traded.
DEAR = 100 * decisions.BASIS_POINT


@pytest.fixture(scope="module")
def config() -> TrainingConfig:
    return small_config(bootstrap_iterations=300)


def _walk(config: TrainingConfig, name: str, dataset: Dataset) -> list[FoldFit]:
    model = next(f for f in families(config) if f.name == name)
    return walk_forward(model, dataset, config)


def _judge(
    dataset: Dataset, predictions: Predictions, config: TrainingConfig, cost: float
) -> tuple[GateDecision, list[Predictions]]:
    baselines = baseline_predictions(dataset, predictions, config.seed)
    judged = Judged(config, cost, BARS_PER_YEAR, baselines, [predictions])
    return judge(dataset, predictions, None, judged), baselines


@pytest.fixture(scope="module")
def planted(config: TrainingConfig) -> tuple[Dataset, list[FoldFit]]:
    dataset = dataset_from(synthetic_matrix(3500, signal=0.4, seed=1))
    return dataset, _walk(config, "linear", dataset)


@pytest.mark.parametrize("name", ["linear", "xgboost", "catboost"])
def test_a_planted_signal_is_found_and_promoted_when_costs_are_small(
    config: TrainingConfig, name: str
) -> None:
    dataset = dataset_from(synthetic_matrix(3500, signal=0.4, seed=1))
    predictions = model_predictions(name, _walk(config, name, dataset), dataset, config.decision, CHEAP)
    baselines = baseline_predictions(dataset, predictions, config.seed)
    tracks = tracks_of(dataset, [*baselines, predictions], config.decision, CHEAP)
    evaluations = evaluate_all(dataset, [predictions], baselines, tracks, config, BARS_PER_YEAR)
    assert evaluations[name].overall["accuracy"] > 0.58
    assert evaluations[name].overall["ic"] > 0.2
    assert evaluations[name].overall["net_return"] > 0
    assert evaluations[name].versus is not None
    assert evaluations[name].versus.p_value < 0.01
    decision, _ = _judge(dataset, predictions, config, CHEAP)
    assert decision.promote, decision.reasons
    assert {duel.opponent for duel in decision.duels} == {"always_long", "persistence", "random"}
    assert {check.name for check in decision.checks} == {
        "net_return",
        "net_sharpe",
        "sharpe_vs_buy_and_hold",
        "spa_vs_always_long",
        "spa_vs_persistence",
        "spa_vs_random",
    }
    assert all(check.passed for check in decision.checks)


def test_the_same_signal_is_refused_when_costs_eat_it(
    config: TrainingConfig, planted: tuple[Dataset, list[FoldFit]]
) -> None:
    dataset, folds = planted
    predictions = model_predictions("linear", folds, dataset, config.decision, DEAR)
    decision, _ = _judge(dataset, predictions, config, DEAR)
    assert not decision.promote
    assert all(duel.won for duel in decision.duels), "it still calls directions better than the baselines"
    failed = {check.name for check in decision.checks if not check.passed}
    assert "net_return" in failed
    economic = next(reason for reason in decision.reasons if reason.startswith("net_return:"))
    assert "100 bp per unit traded" in economic
    assert "needs > 0" in economic


def test_a_numeric_sharpe_floor_is_a_condition_of_its_own(
    config: TrainingConfig, planted: tuple[Dataset, list[FoldFit]]
) -> None:
    dataset, folds = planted
    predictions = model_predictions("linear", folds, dataset, config.decision, CHEAP)
    strict = config.model_copy(update={"gate": config.gate.model_copy(update={"sharpe_floor": 1_000.0})})
    decision, _ = _judge(dataset, predictions, strict, CHEAP)
    assert not decision.promote
    floor = next(check for check in decision.checks if check.name == "sharpe_floor")
    assert not floor.passed
    assert "needs > 1000.00" in floor.detail


def test_noise_is_refused_with_reasons(config: TrainingConfig) -> None:
    dataset = dataset_from(synthetic_matrix(3500, signal=0.0, seed=2))
    predictions = model_predictions(
        "xgboost", _walk(config, "xgboost", dataset), dataset, config.decision, CHEAP
    )
    decision, _ = _judge(dataset, predictions, config, CHEAP)
    assert not decision.promote
    assert any("does not beat" in reason for reason in decision.reasons)
    assert abs(np.mean([d.challenger_score for d in decision.duels]) - 0.5) < 0.06


def test_the_primary_metric_can_be_the_net_return(
    config: TrainingConfig, planted: tuple[Dataset, list[FoldFit]]
) -> None:
    dataset, folds = planted
    by_return = config.model_copy(
        update={"gate": config.gate.model_copy(update={"primary_metric": "net_return", "margin": 0.0})}
    )
    predictions = model_predictions("linear", folds, dataset, config.decision, CHEAP)
    decision, _ = _judge(dataset, predictions, by_return, CHEAP)
    assert all(duel.metric == "net_return" for duel in decision.duels)
    assert decision.promote, decision.reasons
    assert "bp/bar" in decision.reasons[0]


def test_the_band_is_chosen_on_each_folds_training_span_never_on_its_test_window(
    config: TrainingConfig, planted: tuple[Dataset, list[FoldFit]]
) -> None:
    """Rewrite the judged window's returns so that trading any call there loses heavily: a band chosen on
    that window would widen to the largest θ of the grid. The chosen band must not move."""
    dataset, folds = planted
    rule = config.decision.model_copy(update={"abstain_grid": (0.0, 0.02, 0.05, 0.1, 0.2)})
    honest = model_predictions("linear", folds, dataset, rule, CHEAP)
    judged = latest_window(honest)
    called = decisions.calls(honest.proba[honest.fold == honest.fold.max()], 0.0)
    poisoned_returns = dataset.next_return.copy()
    poisoned_returns[judged] = -0.05 * np.where(called == 0, 1.0, called)
    poisoned = replace(dataset, next_return=poisoned_returns)
    on_test = decisions.choose_abstain(
        rule, honest.proba[honest.fold == honest.fold.max()], poisoned_returns[judged], CHEAP
    )
    assert on_test == max(rule.abstain_grid), "the poisoned window must favour the widest band"
    again = model_predictions("linear", folds, poisoned, rule, CHEAP)
    assert np.array_equal(again.abstain, honest.abstain)
    for fold in folds:
        assert fold.validation.max() < fold.test.min(), "the band's rows lie before the fold's test window"


def test_baselines_cover_the_same_rows_and_mean_what_they_say(config: TrainingConfig) -> None:
    dataset = dataset_from(synthetic_matrix(3500, seed=3))
    predictions = model_predictions(
        "linear", _walk(config, "linear", dataset), dataset, config.decision, CHEAP
    )
    by_name = {b.name: b for b in baseline_predictions(dataset, predictions, config.seed)}
    for baseline in by_name.values():
        assert np.array_equal(baseline.rows, predictions.rows)
        assert (baseline.abstain == 0).all()
    assert (by_name["always_long"].proba == 1).all()
    rows = predictions.rows
    assert np.array_equal(by_name["persistence"].proba > 0.5, dataset.bar_return[rows] > 0)
    assert 0.45 < by_name["random"].proba.mean() < 0.55
