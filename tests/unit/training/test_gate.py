"""Walk-forward models beside baselines on synthetic data, and the gate's verdict on them."""

from __future__ import annotations

import numpy as np
import pytest

from alphapulse.training.config import TrainingConfig
from alphapulse.training.dataset import dataset_from
from alphapulse.training.evaluation import baseline_predictions, evaluate_all, model_predictions
from alphapulse.training.gate import judge
from alphapulse.training.models import families
from alphapulse.training.walkforward import walk_forward
from tests.unit.training.synthetic import small_config, synthetic_matrix


@pytest.fixture
def config() -> TrainingConfig:
    return small_config(bootstrap_iterations=300)


@pytest.mark.parametrize("name", ["linear", "xgboost", "catboost"])
def test_a_planted_signal_is_found_and_promoted(config: TrainingConfig, name: str) -> None:
    dataset = dataset_from(synthetic_matrix(3500, signal=0.4, seed=1))
    model = next(f for f in families(config) if f.name == name)
    predictions = model_predictions(name, walk_forward(model, dataset, config))
    baselines = baseline_predictions(dataset, predictions, config.seed)
    evaluations = evaluate_all(dataset, [predictions], baselines, config, 8766)
    assert evaluations[name].overall["accuracy"] > 0.58
    assert evaluations[name].overall["ic"] > 0.2
    assert evaluations[name].versus is not None
    assert evaluations[name].versus.p_value < 0.01
    decision = judge(dataset, predictions, baselines, config)
    assert decision.promote, decision.reasons
    assert {duel.opponent for duel in decision.duels} == {"always_long", "persistence", "random"}


def test_noise_is_refused_with_reasons(config: TrainingConfig) -> None:
    dataset = dataset_from(synthetic_matrix(3500, signal=0.0, seed=2))
    model = next(f for f in families(config) if f.name == "xgboost")
    predictions = model_predictions("xgboost", walk_forward(model, dataset, config))
    baselines = baseline_predictions(dataset, predictions, config.seed)
    decision = judge(dataset, predictions, baselines, config)
    assert not decision.promote
    assert decision.reasons
    assert all("does not beat" in reason for reason in decision.reasons)
    assert abs(np.mean([d.challenger_accuracy for d in decision.duels]) - 0.5) < 0.06


def test_baselines_cover_the_same_rows_and_mean_what_they_say(config: TrainingConfig) -> None:
    dataset = dataset_from(synthetic_matrix(3500, seed=3))
    model = next(f for f in families(config) if f.name == "linear")
    predictions = model_predictions("linear", walk_forward(model, dataset, config))
    by_name = {b.name: b for b in baseline_predictions(dataset, predictions, config.seed)}
    for baseline in by_name.values():
        assert np.array_equal(baseline.rows, predictions.rows)
    assert (by_name["always_long"].proba == 1).all()
    rows = predictions.rows
    assert np.array_equal(by_name["persistence"].proba > 0.5, dataset.bar_return[rows] > 0)
    assert 0.45 < by_name["random"].proba.mean() < 0.55
