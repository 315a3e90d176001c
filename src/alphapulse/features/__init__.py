"""Features: pandas-ta indicators, headline sentiment joined as of each bar's close, labels, versions."""

from alphapulse.features.config import FeatureConfig, LabelConfig, SentimentConfig, load_config
from alphapulse.features.latest import LatestFeatures, latest_stamp, publish_latest, read_latest
from alphapulse.features.materialize import current_config, feature_path, materialize
from alphapulse.features.matrix import (
    FeatureMatrix,
    anchor_time,
    build,
    build_online,
    online_window_bars,
    trainable,
    trainable_mask,
    warmup_bars,
)
from alphapulse.features.sentiment import HeadlineScorer, get_scorer, register_scorer
from alphapulse.features.version import feature_set_version

__all__ = [
    "FeatureConfig",
    "FeatureMatrix",
    "HeadlineScorer",
    "LabelConfig",
    "LatestFeatures",
    "SentimentConfig",
    "anchor_time",
    "build",
    "build_online",
    "current_config",
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
    "trainable_mask",
    "warmup_bars",
]
