"""CatBoost (ordered boosting, symmetric trees) with early stopping on the inner validation slice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from catboost import CatBoostClassifier
from pydantic import Field

from alphapulse.training.dataset import FloatArray
from alphapulse.training.models.base import Fitted
from alphapulse.training.models.family import (
    ModelFamily,
    Params,
    ParamsFitter,
    Suggester,
    register_family,
    span,
)


class CatBoostParams(Params):
    iterations: int = Field(ge=1)
    learning_rate: float = Field(gt=0)
    depth: int = Field(ge=1, le=16)
    l2_leaf_reg: float = Field(ge=0)
    early_stopping_rounds: int = Field(ge=1)


@dataclass(frozen=True)
class CatBoostFitter(ParamsFitter[CatBoostParams]):
    name: str = "catboost"

    def fit(self, x_fit: FloatArray, y_fit: FloatArray, x_val: FloatArray, y_val: FloatArray) -> Fitted:
        model = CatBoostClassifier(
            **self.config.model_dump(),
            loss_function="Logloss",
            random_seed=self.seed,
            thread_count=self.threads,
            use_best_model=True,
            allow_writing_files=False,
            verbose=False,
        )
        model.fit(x_fit, y_fit.astype(np.int64), eval_set=(x_val, y_val.astype(np.int64)))
        history = model.get_evals_result()
        curve = pd.DataFrame(
            {"train": history["learn"]["Logloss"], "validation": history["validation"]["Logloss"]}
        )
        return Fitted(
            model=model,
            importance=np.asarray(model.get_feature_importance(), dtype=np.float64),
            learning_curve=curve,
            best_iteration=int(model.get_best_iteration()),
        )


def space(trial: Suggester, configured: CatBoostParams) -> dict[str, Any]:
    """Step size, tree depth and leaf regularisation; ``iterations`` stays a cap that early stopping cuts
    short. ``l2_leaf_reg`` is searched on a log scale unless configured at 0, which a log scale cannot
    hold."""
    rate, depth = span(0.01, 0.3, configured.learning_rate), span(3, 8, configured.depth)
    ridge = span(1.0, 30.0, configured.l2_leaf_reg)
    return {
        **configured.model_dump(),
        "learning_rate": trial.suggest_float("learning_rate", *rate, log=True),
        "depth": trial.suggest_int("depth", *depth),
        "l2_leaf_reg": trial.suggest_float("l2_leaf_reg", *ridge, log=ridge[0] > 0),
    }


register_family(
    ModelFamily(
        name="catboost",
        params=CatBoostParams,
        build=CatBoostFitter,
        flavor="mlflow.catboost",
        requirements=("catboost", "numpy", "pandas"),
        space=space,
    )
)
