"""Features: pandas-ta indicators, headline sentiment joined as of each bar's close, labels, versions."""

from alphapulse.features.config import FeatureConfig, LabelConfig, SentimentConfig, load_config
from alphapulse.features.materialize import feature_path, materialize
from alphapulse.features.matrix import (
    FeatureMatrix,
    anchor_time,
    build,
    build_online,
    online_window_bars,
    trainable,
    warmup_bars,
)
from alphapulse.features.report import FeatureSetReport, build_feature_set, build_stored_feature_set
from alphapulse.features.sentiment import HeadlineScorer, get_scorer, register_scorer
from alphapulse.features.version import feature_set_version

__all__ = [
    "FeatureConfig",
    "FeatureMatrix",
    "FeatureSetReport",
    "HeadlineScorer",
    "LabelConfig",
    "SentimentConfig",
    "anchor_time",
    "build",
    "build_feature_set",
    "build_online",
    "build_stored_feature_set",
    "feature_path",
    "feature_set_version",
    "get_scorer",
    "load_config",
    "materialize",
    "online_window_bars",
    "register_scorer",
    "trainable",
    "warmup_bars",
]
