"""Gradient-boosted trees (XGBoost, histogram method) with early stopping on the inner validation slice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field
from xgboost import XGBClassifier

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


def space(trial: Suggester, configured: XGBoostParams) -> dict[str, Any]:
    """Shape and regularisation of the trees; ``n_estimators`` stays a cap that early stopping cuts short.

    The weights are searched on a log scale unless configured at 0, which a log scale cannot hold.
    """
    rate, depth = span(0.01, 0.3, configured.learning_rate), span(2, 8, configured.max_depth)
    child, ridge = span(1.0, 100.0, configured.min_child_weight), span(0.1, 50.0, configured.reg_lambda)
    rows, columns = span(0.5, 1.0, configured.subsample), span(0.5, 1.0, configured.colsample_bytree)
    return {
        **configured.model_dump(),
        "learning_rate": trial.suggest_float("learning_rate", *rate, log=True),
        "max_depth": trial.suggest_int("max_depth", *depth),
        "min_child_weight": trial.suggest_float("min_child_weight", *child, log=child[0] > 0),
        "subsample": trial.suggest_float("subsample", *rows),
        "colsample_bytree": trial.suggest_float("colsample_bytree", *columns),
        "reg_lambda": trial.suggest_float("reg_lambda", *ridge, log=ridge[0] > 0),
    }


register_family(
    ModelFamily(
        name="xgboost",
        params=XGBoostParams,
        build=XGBoostFitter,
        flavor="mlflow.xgboost",
        requirements=("xgboost", "scikit-learn", "numpy", "pandas"),
        space=space,
    )
)
