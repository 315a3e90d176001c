"""Model families behind one interface, registered by name; ``families`` builds them from a profile.

Every other module of this package is one family that registers itself when imported, and all of them
are imported here: a new family is one new module. The order of a profile's families in
``training/default.yaml`` is the order of every table, run and tie-break (the first of equally good
families becomes the challenger).
"""

from __future__ import annotations

from importlib import import_module
from pkgutil import iter_modules
from typing import TYPE_CHECKING

from alphapulse.training.models.base import Fitted, Fitter, NativeClassifier
from alphapulse.training.models.family import (
    ModelFamily,
    Params,
    ParamsFitter,
    Suggester,
    family_names,
    get_family,
    register_family,
    span,
)

if TYPE_CHECKING:
    from alphapulse.training.config import TrainingConfig

#: Modules of this package that hold the machinery rather than a family.
_MACHINERY = ("base", "family")
for _module in iter_modules(__path__):
    if _module.name not in _MACHINERY:
        import_module(f"{__name__}.{_module.name}")


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
    "ParamsFitter",
    "Suggester",
    "families",
    "family_names",
    "get_family",
    "register_family",
    "span",
]
