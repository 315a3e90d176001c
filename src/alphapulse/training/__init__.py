"""Training: purged walk-forward evaluation beside baselines, MLflow tracking, and the promotion gate."""

from alphapulse.training.config import Profile, TrainingConfig, load_config
from alphapulse.training.predictor import Predictor
from alphapulse.training.registry import (
    AliasChange,
    VersionInfo,
    list_versions,
    load_champion,
    promote,
    registered_name,
    rollback,
    versions_table,
)
from alphapulse.training.splits import WalkForward
from alphapulse.training.table import results_table
from alphapulse.training.train import TrainingReport, train_all

__all__ = [
    "AliasChange",
    "Predictor",
    "Profile",
    "TrainingConfig",
    "TrainingReport",
    "VersionInfo",
    "WalkForward",
    "list_versions",
    "load_champion",
    "load_config",
    "promote",
    "registered_name",
    "results_table",
    "rollback",
    "train_all",
    "versions_table",
]
