"""CatBoost (ordered boosting, symmetric trees) with early stopping on the inner validation slice."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from catboost import CatBoostClassifier
from pydantic import Field

from alphapulse.training.dataset import FloatArray
from alphapulse.training.models.base import Fitted
from alphapulse.training.models.family import ModelFamily, Params, ParamsFitter, register_family


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


register_family(
    ModelFamily(
        name="catboost",
        params=CatBoostParams,
        build=CatBoostFitter,
        flavor="mlflow.catboost",
        requirements=("catboost", "numpy", "pandas"),
    )
)
