"""The one interface every model family's fitter implements, so walk-forward, gate and serving treat them
alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy.typing as npt
import pandas as pd

from alphapulse.training.dataset import FloatArray


class NativeClassifier(Protocol):
    """The library's own estimator (XGBClassifier, CatBoostClassifier, a scikit-learn pipeline)."""

    def predict_proba(self, x: FloatArray) -> npt.NDArray[Any]: ...


@dataclass(frozen=True)
class Fitted:
    """A trained model with what the report shows about how it trained."""

    model: NativeClassifier
    importance: FloatArray
    learning_curve: pd.DataFrame | None
    best_iteration: int | None


class Fitter(Protocol):
    """A model family with fixed hyper-parameters; ``params`` is what MLflow logs and the gate refits."""

    @property
    def name(self) -> str: ...

    @property
    def params(self) -> dict[str, Any]: ...

    def fit(self, x_fit: FloatArray, y_fit: FloatArray, x_val: FloatArray, y_val: FloatArray) -> Fitted:
        """Train on the fit rows; the validation rows (strictly later, purged) drive early stopping."""
        ...
