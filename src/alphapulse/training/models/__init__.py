"""Model families behind one interface, registered by name; ``families`` builds them from a profile.

The families shipped here register themselves when their module is imported; the order below is the
order of every table, run and tie-break (the first of equally good families becomes the challenger).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from alphapulse.training.models.base import Fitted, Fitter, NativeClassifier
from alphapulse.training.models.family import (
    ModelFamily,
    Params,
    family_names,
    get_family,
    register_family,
)

if TYPE_CHECKING:
    from alphapulse.training.config import TrainingConfig

for _module in ("linear", "xgboost_model", "catboost_model"):
    import_module(f"{__name__}.{_module}")


def families(config: TrainingConfig) -> list[Fitter]:
    """Every family with the hyper-parameters of the configured profile."""
    return [
        get_family(name).fitter(params, seed=config.seed, threads=config.threads)
        for name, params in config.model.families.items()
    ]


__all__ = [
    "Fitted",
    "Fitter",
    "ModelFamily",
    "NativeClassifier",
    "Params",
    "families",
    "family_names",
    "get_family",
    "register_family",
]
