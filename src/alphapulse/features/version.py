"""The feature-set version: a hash of everything that determines the feature values.

The config covers indicators, sentiment and labels; the library versions cover the code computing
them (AlphaPulse's own and pandas-ta's, whose indicator formulas have changed between releases), and a
learned sentiment scorer's model (its weights are not code). Equal versions therefore mean
interchangeable feature values, which is what training and serving rely on.
"""

from __future__ import annotations

import hashlib
import json
from importlib.metadata import version as installed_version

from alphapulse import __version__
from alphapulse.features.config import FeatureConfig
from alphapulse.features.sentiment import scorer_identity

#: Hex digits kept: 64 bits, so a collision between feature sets is not a practical concern.
VERSION_LENGTH = 16


def feature_set_version(config: FeatureConfig) -> str:
    inputs: dict[str, object] = {
        "config": json.loads(config.canonical_json()),
        "alphapulse": __version__,
        "pandas_ta": installed_version("pandas-ta"),
    }
    # Only scorers with a model add a key, so the lexicon scorers' versions stay what they were.
    model = scorer_identity(config.sentiment.scorer)
    if model is not None:
        inputs["sentiment_model"] = model
    payload = json.dumps(inputs, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()[:VERSION_LENGTH]
