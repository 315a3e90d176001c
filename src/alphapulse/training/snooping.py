"""Hansen's test for Superior Predictive Ability: does any of several families beat a benchmark, once the
fact that several were tried is accounted for?

Picking the best of k families and testing only it against a baseline overstates significance (the best
of k coin flips looks skilled). SPA tests the null "no family beats the benchmark" over all k at once, on
per-bar losses, with a stationary bootstrap that keeps serial dependence; its p-value is what the gate
compares with alpha. The implementation is the ``arch`` package's.
"""

from __future__ import annotations

import numpy as np

from alphapulse.training.dataset import FloatArray


def spa_p_value(benchmark: FloatArray, models: FloatArray, *, block: int, reps: int, seed: int) -> float:
    """The consistent SPA p-value; ``benchmark`` is one loss per bar, ``models`` one column per model."""
    from arch.bootstrap import SPA

    if np.ptp(models - benchmark[:, None]) == 0:
        return 1.0 if float(np.mean(models - benchmark[:, None])) >= 0 else 0.0
    test = SPA(benchmark, models, block_size=block, reps=reps, bootstrap="stationary", seed=seed)
    test.compute()
    return float(test.pvalues["consistent"])
