"""Gradient-boosted trees (XGBoost, histogram method) with early stopping on the inner validation slice."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pydantic import Field
from xgboost import XGBClassifier

from alphapulse.training.dataset import FloatArray
from alphapulse.training.models.base import Fitted
from alphapulse.training.models.family import ModelFamily, Params, ParamsFitter, register_family


class XGBoostParams(Params):
    n_estimators: int = Field(ge=1)
    learning_rate: float = Field(gt=0)
    max_depth: int = Field(ge=1)
    subsample: float = Field(gt=0, le=1)
    colsample_bytree: float = Field(gt=0, le=1)
    min_child_weight: float = Field(ge=0)
    reg_lambda: float = Field(ge=0)
    early_stopping_rounds: int = Field(ge=1)


@dataclass(frozen=True)
class XGBoostFitter(ParamsFitter[XGBoostParams]):
    name: str = "xgboost"

    def fit(self, x_fit: FloatArray, y_fit: FloatArray, x_val: FloatArray, y_val: FloatArray) -> Fitted:
        model = XGBClassifier(
            **self.config.model_dump(),
            objective="binary:logistic",
            eval_metric="logloss",
            tree_method="hist",
            n_jobs=self.threads,
            random_state=self.seed,
        )
        model.fit(x_fit, y_fit.astype(np.int64), eval_set=[(x_fit, y_fit), (x_val, y_val)], verbose=False)
        history = model.evals_result()
        curve = pd.DataFrame(
            {"train": history["validation_0"]["logloss"], "validation": history["validation_1"]["logloss"]}
        )
        return Fitted(
            model=model,
            importance=np.asarray(model.feature_importances_, dtype=np.float64),
            learning_curve=curve,
            best_iteration=int(model.best_iteration),
        )


register_family(
    ModelFamily(
        name="xgboost",
        params=XGBoostParams,
        build=XGBoostFitter,
        flavor="mlflow.xgboost",
        requirements=("xgboost", "scikit-learn", "numpy", "pandas"),
    )
)
