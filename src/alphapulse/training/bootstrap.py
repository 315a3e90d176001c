"""Moving-block bootstrap: resampling blocks of consecutive bars keeps the serial dependence (overlapping
label horizons, volatility clusters) that an i.i.d. bootstrap would erase and so understate uncertainty."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from alphapulse.training.config import EvaluationConfig
from alphapulse.training.dataset import FloatArray, IntArray


def block_indices(n: int, block: int, rng: np.random.Generator) -> IntArray:
    """One resample of ``n`` row positions made of whole blocks of ``block`` consecutive rows."""
    block = min(block, n)
    starts = rng.integers(0, n - block + 1, size=-(-n // block))
    return (starts[:, None] + np.arange(block)).ravel()[:n]


def replicates(
    statistic: Callable[[IntArray], float], n: int, config: EvaluationConfig, seed: int
) -> FloatArray:
    rng = np.random.default_rng(seed)
    return np.array(
        [statistic(block_indices(n, config.block_bars, rng)) for _ in range(config.bootstrap_iterations)]
    )


def interval(
    statistic: Callable[[IntArray], float], n: int, config: EvaluationConfig, seed: int
) -> tuple[float, float]:
    """Percentile interval of ``statistic`` (a function of resampled row positions)."""
    values = replicates(statistic, n, config, seed)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return float("nan"), float("nan")
    tail = (1 - config.confidence) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def superiority(
    ours: FloatArray,
    theirs: FloatArray,
    margin: float,
    config: EvaluationConfig,
    seed: int,
) -> tuple[float, float]:
    """Mean per-bar score difference on the same rows (e.g. accuracy, from 0/1 scores) and the p-value of
    "ours beats theirs by no more than margin".

    The bootstrap distribution of the paired difference, centred on the observed one, stands in for the
    null; blocks resample both predictors' rows together so their correlation is kept.
    """
    difference = ours.astype(np.float64) - theirs.astype(np.float64)
    observed = float(difference.mean())
    values = replicates(lambda rows: float(difference[rows].mean()), len(difference), config, seed)
    p_value = (1 + np.sum(values - observed >= observed - margin)) / (len(values) + 1)
    return observed, float(p_value)
