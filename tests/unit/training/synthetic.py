"""Synthetic feature matrices: a random walk whose next moves are partly explained by one feature
(``signal`` > 0) or by nothing at all (``signal`` = 0). Nothing built them from a config; they carry the
shipped one because training records a matrix's config on the version it registers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from alphapulse.decisions import Costs
from alphapulse.features import FeatureMatrix, load_config
from alphapulse.training.config import CostConfig, TrainingConfig, TuningConfig
from alphapulse.training.config import load_config as load_training_config


def synthetic_matrix(n: int = 3000, *, signal: float = 0.0, horizon: int = 1, seed: int = 0) -> FeatureMatrix:
    rng = np.random.default_rng(seed)
    open_time = pd.date_range("2023-01-01", periods=n, freq="h", tz="UTC")
    driver = rng.standard_normal(n)
    noise = rng.standard_normal((n, 3))
    bar_return = np.empty(n)
    bar_return[0] = 0.0
    bar_return[1:] = 0.004 * (signal * driver[:-1] + rng.standard_normal(n - 1))
    close = 30_000 * np.exp(np.cumsum(bar_return))
    log_close = np.log(close)
    label_return = np.full(n, np.nan)
    label_return[:-horizon] = log_close[horizon:] - log_close[:-horizon]
    label_up = np.where(np.isnan(label_return), np.nan, (label_return > 0).astype(float))
    frame = pd.DataFrame(
        {
            "driver": driver,
            "noise_a": noise[:, 0],
            "noise_b": noise[:, 1],
            "noise_c": noise[:, 2],
            "close": close,
            "label_return": label_return,
            "label_up": label_up,
            "label_end": open_time + pd.Timedelta(hours=horizon + 1),
        },
        index=pd.DatetimeIndex(open_time, name="open_time"),
    )
    frame.iloc[:5, :4] = np.nan  # warm-up rows, as rolling features would leave them
    columns = ("driver", "noise_a", "noise_b", "noise_c")
    return FeatureMatrix(frame, columns, f"synthetic-s{signal}-h{horizon}-{seed}", 5, load_config())


def small_config(
    bootstrap_iterations: int, *, trials: int = 0, cost_bps: float | None = None
) -> TrainingConfig:
    """The fast profile on 500-bar windows, so a matrix of a few thousand bars walks forward in seconds
    (without a hyper-parameter search unless ``trials`` asks for one; at ``cost_bps`` per unit traded
    on any exchange when given)."""
    base = load_training_config("fast")
    if cost_bps is not None:
        base = base.model_copy(update={"costs": CostConfig(default=Costs(fee_bps=cost_bps))})
    splits = base.splits.model_copy(update={"test_bars": 500, "min_train_bars": 500})
    evaluation = base.evaluation.model_copy(update={"bootstrap_iterations": bootstrap_iterations})
    model = base.model.model_copy(update={"tuning": TuningConfig(trials=trials)})
    return base.model_copy(update={"splits": splits, "evaluation": evaluation, "model": model})
