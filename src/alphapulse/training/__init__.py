"""Training: purged walk-forward evaluation beside baselines, MLflow tracking, and the promotion gate.

The names below load on first use: the service imports ``alphapulse.training.predictor`` and must not
pull in MLflow, matplotlib and the trainers with it (the Bento's environment does not have them).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alphapulse.training.config import (
        Profile,
        TrainingConfig,
        load_config,
    )
    from alphapulse.training.predictor import (
        Predictor,
    )
    from alphapulse.training.registry import (
        AliasChange,
        VersionInfo,
        list_versions,
        load_champion,
        promote,
        registered_name,
        rollback,
    )
    from alphapulse.training.train import (
        TrainingReport,
        train_all,
    )
    from alphapulse.training.walkforward import (
        WalkForward,
    )

#: Public name -> the submodule that defines it.
_HOMES = {
    "AliasChange": "registry",
    "Predictor": "predictor",
    "Profile": "config",
    "TrainingConfig": "config",
    "TrainingReport": "train",
    "VersionInfo": "registry",
    "WalkForward": "walkforward",
    "list_versions": "registry",
    "load_champion": "registry",
    "load_config": "config",
    "promote": "registry",
    "registered_name": "registry",
    "rollback": "registry",
    "train_all": "train",
}

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
    "rollback",
    "train_all",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{home}"), name)
