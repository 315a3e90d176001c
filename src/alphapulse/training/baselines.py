"""Predictors with no model, which every model is shown beside and the gate requires it to beat.

Each returns an up-probability for the test rows; 1.0/0.0 are hard calls and 0.5 means no view (flat).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from alphapulse.training.dataset import Dataset, FloatArray, IntArray

Baseline = Callable[[Dataset, IntArray, np.random.Generator], FloatArray]


def always_long(dataset: Dataset, test: IntArray, rng: np.random.Generator) -> FloatArray:
    """Buy and hold: always calls up."""
    return np.ones(len(test), dtype=np.float64)


def persistence(dataset: Dataset, test: IntArray, rng: np.random.Generator) -> FloatArray:
    """Calls the direction of the bar that just closed (momentum of one bar); an unchanged bar is no view."""
    return (np.sign(dataset.bar_return[test]) + 1.0) / 2.0


def random_score(dataset: Dataset, test: IntArray, rng: np.random.Generator) -> FloatArray:
    """A uniform random score: the control that shows what chance looks like in every figure."""
    return rng.random(len(test))


#: The market itself: the baseline whose strategy is buy-and-hold (the gate's default Sharpe floor).
BUY_AND_HOLD = "always_long"

BASELINES: dict[str, Baseline] = {
    BUY_AND_HOLD: always_long,
    "persistence": persistence,
    "random": random_score,
}
