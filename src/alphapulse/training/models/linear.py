"""Regularised logistic regression: the baseline every tree model has to justify its complexity against."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import Field
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

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


class LinearParams(Params):
    C: float = Field(gt=0, description="Inverse L2 strength of the logistic regression.")
    max_iter: int = Field(ge=10)


@dataclass(frozen=True)
class LinearFitter(ParamsFitter[LinearParams]):
    name: str = "linear"

    def fit(self, x_fit: FloatArray, y_fit: FloatArray, x_val: FloatArray, y_val: FloatArray) -> Fitted:
        """Nothing stops early here, so the validation rows are training rows too (all of the past)."""
        pipeline = Pipeline(
            [
                ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                ("scale", StandardScaler()),
                (
                    "logit",
                    LogisticRegression(
                        C=self.config.C, max_iter=self.config.max_iter, random_state=self.seed
                    ),
                ),
            ]
        )
        pipeline.fit(np.vstack([x_fit, x_val]), np.concatenate([y_fit, y_val]).astype(np.int64))
        coefficients = np.abs(pipeline.named_steps["logit"].coef_[0]).astype(np.float64)
        return Fitted(model=pipeline, importance=coefficients, learning_curve=None, best_iteration=None)


def space(trial: Suggester, configured: LinearParams) -> dict[str, Any]:
    """Only the regularisation matters; ``max_iter`` is a convergence budget, not a modelling choice."""
    low, high = span(1e-3, 10.0, configured.C)
    return {**configured.model_dump(), "C": trial.suggest_float("C", low, high, log=True)}


register_family(
    ModelFamily(
        name="linear",
        params=LinearParams,
        build=LinearFitter,
        flavor="mlflow.sklearn",
        requirements=("scikit-learn", "skops", "numpy", "pandas"),
        # MLflow saves scikit-learn models with skops, which refuses types it was not told to trust; the
        # fitted imputer and scaler hold numpy dtypes.
        log_options={"skops_trusted_types": ["numpy.dtype"]},
        space=space,
        fit_learns_validation=True,
    )
)
