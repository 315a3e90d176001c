"""Gradient-boosted trees (XGBoost, histogram method) with early stopping on the inner validation slice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from xgboost import XGBClassifier

from alphapulse.training.config import XGBoostParams
from alphapulse.training.dataset import FloatArray
from alphapulse.training.models.base import Fitted


@dataclass(frozen=True)
class XGBoostFamily:
    config: XGBoostParams
    seed: int
    threads: int
    name: str = "xgboost"

    @property
    def params(self) -> dict[str, Any]:
        return self.config.model_dump()

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
