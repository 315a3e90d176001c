"""The object that turns a feature frame into up-probabilities, offline and in serving alike.

Walk-forward evaluation and ``load_champion`` both predict through ``Predictor.predict_proba``, so the
probabilities served are bit-identical to the ones the evaluation scored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from alphapulse.training.dataset import FloatArray
from alphapulse.training.models import NativeClassifier


@dataclass(frozen=True)
class Predictor:
    family: str
    model: NativeClassifier
    feature_columns: tuple[str, ...]
    feature_version: str

    def predict_proba(self, features: pd.DataFrame) -> FloatArray:
        """Probability that the label is up, one per row; columns are taken by name in training order."""
        missing = [column for column in self.feature_columns if column not in features.columns]
        if missing:
            raise KeyError(f"features missing for the {self.family} model: {', '.join(missing)}")
        x = np.ascontiguousarray(features.loc[:, list(self.feature_columns)].to_numpy(dtype=np.float64))
        return np.asarray(self.model.predict_proba(x), dtype=np.float64)[:, 1]
