"""Small real model bundles for serving tests: a fitted scikit-learn logistic regression over a few real
feature columns, written into the BentoML store by ``bundle.write_bundle`` as an export writes them (without the MLflow
registry and the training a real export needs)."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

from alphapulse.features import FeatureConfig, feature_set_version
from alphapulse.serving.bundle import bento_model_name, write_bundle
from alphapulse.serving.schemas import Role
from alphapulse.settings import Settings
from alphapulse.training.predictor import Predictor

SYMBOL, TIMEFRAME = "BTC/USDT", "1h"
REGISTERED = "alphapulse-btc-usdt-1h"
#: Real columns of the default feature set, so the model scores what ``build_online`` computes.
COLUMNS = ("logret_1", "rsi_14", "rvol_24")


def tiny_predictor(config: FeatureConfig, seed: int = 7) -> Predictor:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(200, len(COLUMNS))) * np.array([0.01, 15.0, 0.005]) + np.array([0.0, 50.0, 0.01])
    y = (x[:, 0] + rng.normal(scale=0.01, size=200) > 0).astype(int)
    model = LogisticRegression().fit(x, y)
    return Predictor("linear", model, COLUMNS, feature_set_version(config))


def export_bundle(
    settings: Settings, config: FeatureConfig, predictor: Predictor, *, role: Role, version: str
) -> str:
    """Write ``predictor`` as MLflow version ``version`` of ``role``; the BentoML tag it got."""
    labels = {
        "registered_model": REGISTERED,
        "mlflow_version": version,
        "feature_set": predictor.feature_version,
        "data_start": "2020-10-07",
        "data_end": "2025-10-31",
        "family": predictor.family,
        "role": role,
        "symbol": SYMBOL,
        "timeframe": TIMEFRAME,
    }
    tag = f"{bento_model_name(REGISTERED, role)}:v{version}"
    return str(write_bundle(settings, tag, predictor, config, labels))
