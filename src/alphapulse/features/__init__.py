"""Features: pandas-ta indicators, headline sentiment joined as of each bar's close, labels, versions."""

from alphapulse.features.config import FeatureConfig, LabelConfig, SentimentConfig, load_config
from alphapulse.features.latest import LatestFeatures, latest_stamp, publish_latest, read_latest
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
    "LatestFeatures",
    "SentimentConfig",
    "anchor_time",
    "build",
    "build_feature_set",
    "build_online",
    "build_stored_feature_set",
    "feature_path",
    "feature_set_version",
    "get_scorer",
    "latest_stamp",
    "load_config",
    "materialize",
    "online_window_bars",
    "publish_latest",
    "read_latest",
    "register_scorer",
    "trainable",
    "warmup_bars",
]
