"""Strategy accounting after fees, classification figures, and the block bootstrap."""

from __future__ import annotations

import numpy as np
import pytest

from alphapulse.training import metrics
from alphapulse.training.bootstrap import block_indices, interval, superiority
from alphapulse.training.config import EvaluationConfig

CONFIG = EvaluationConfig(bootstrap_iterations=400, block_bars=5, confidence=0.9)


def test_drawdown_hit_rate_and_buy_and_hold() -> None:
    market = np.array([0.10, -0.5, 0.2])
    figures = metrics.trading(np.ones(3), market, market, 8760)
    assert figures["max_drawdown"] == pytest.approx(-0.5)
    assert figures["hit_rate"] == pytest.approx(2 / 3)
    assert figures["net_return"] == pytest.approx(1.1 * 0.5 * 1.2 - 1)
    assert (figures["trades"], figures["exposure"]) == (1, 1)
    assert figures["turnover"] == pytest.approx(8760 / 3)


def test_trading_figures_count_trades_exposure_and_hits_on_held_bars_only() -> None:
    position = np.array([0.0, 1.0, 1.0, -1.0, 0.0, 0.0])
    market = np.array([0.01, 0.02, -0.01, -0.03, 0.04, 0.0])
    figures = metrics.trading(position, position * market, market, 6)
    assert figures["trades"] == 3  # in, flip, out
    assert figures["exposure"] == pytest.approx(0.5)
    assert figures["hit_rate"] == pytest.approx(2 / 3)
    assert figures["turnover"] == pytest.approx(4.0)  # 1 + 2 + 1 units over 6 bars, 6 bars a year


def test_classification_figures_of_a_perfect_and_a_constant_forecast() -> None:
    y = np.array([1.0, 0.0, 1.0, 0.0])
    perfect = metrics.classification(y, np.array([0.9, 0.1, 0.8, 0.2]))
    assert perfect["accuracy"] == 1.0
    assert perfect["roc_auc"] == 1.0
    constant = metrics.classification(y, np.full(4, 0.5))
    assert constant["brier"] == pytest.approx(0.25)
    assert constant["log_loss"] == pytest.approx(np.log(2))
    assert np.isnan(metrics.information_coefficient(np.full(4, 0.5), y))


def test_block_resamples_are_made_of_consecutive_runs() -> None:
    rows = block_indices(103, 10, np.random.default_rng(1))
    assert len(rows) == 103
    assert rows.min() >= 0
    assert rows.max() < 103
    blocks = rows[:100].reshape(10, 10)
    assert (np.diff(blocks, axis=1) == 1).all()


def test_interval_covers_the_truth_and_the_test_separates_skill_from_chance() -> None:
    rng = np.random.default_rng(2)
    coin = rng.random(2000) < 0.5
    low, high = interval(lambda r: float(coin[r].mean()), len(coin), CONFIG, seed=3)
    assert low < 0.5 < high
    skilled = coin | (rng.random(2000) < 0.3)  # right on about 65% of rows
    difference, p_value = superiority(skilled, coin, 0.0, CONFIG, seed=3)
    assert difference > 0.1
    assert p_value < 0.01
    twin = rng.random(2000) < 0.5
    assert superiority(twin, coin, 0.0, CONFIG, seed=3)[1] > 0.05
    # a real edge smaller than the margin is not enough
    assert superiority(skilled, coin, 0.3, CONFIG, seed=3)[1] > 0.5
