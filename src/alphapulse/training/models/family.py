"""A model family as one registered object: everything training, the run log and serving need to know
about it, looked up by name.

Config validation, MLflow logging and model loading all ask the registry instead of keeping a table of
their own: a new family is one module in ``training/models/`` that calls ``register_family`` (see
``linear.py``; the package imports every module it holds), and its params under that name in each
``default.yaml`` profile.
Like headline scorers, families are registered by name so the config and the registered versions name
them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from alphapulse.training.models.base import Fitter


class Params(BaseModel):
    """A family's hyper-parameters: strict (an unknown key is an error rather than silently ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class ParamsFitter[P: Params]:
    """What every shipped fitter carries: its validated params (what MLflow logs and the gate refits), the
    seed and the threads it may use; a family's fitter adds its ``name`` and ``fit``."""

    config: P
    seed: int
    threads: int

    @property
    def params(self) -> dict[str, Any]:
        return self.config.model_dump()


class Suggester(Protocol):
    """The part of an Optuna trial a search space asks for values: typed here so that the family modules,
    which serving imports, do not import Optuna (serving does not have it)."""

    def suggest_float(self, name: str, low: float, high: float, *, log: bool = False) -> float: ...

    def suggest_int(self, name: str, low: int, high: int, *, log: bool = False) -> int: ...


def span[N: (int, float)](low: N, high: N, configured: N) -> tuple[N, N]:
    """A search range stretched to hold the configured value, which the search scores first: a value
    outside its distribution would be one the sampler cannot model."""
    return min(low, configured), max(high, configured)


@dataclass(frozen=True)
class ModelFamily[P: Params]:
    """One family: its params class, how to build its fitter, and how MLflow logs and loads its model.

    ``flavor`` is the MLflow flavour's module name, imported only when a model is logged or loaded: the
    family modules are imported by the serving ``Predictor``, and the service must not import MLflow.
    ``requirements`` are distribution names that logging pins from the running environment (MLflow's own
    inference imports the model in a subprocess and costs several seconds per model).
    ``space`` draws one trial's params from the configured ones (kept as they are for anything it does not
    search); a family without one is never tuned. ``fit_learns_validation`` says the fitter trains on the
    validation rows too (nothing stops early), so a search must withhold them to score on them.
    """

    name: str
    params: type[P]
    build: Callable[[P, int, int], Fitter]
    flavor: str
    requirements: tuple[str, ...]
    log_options: Mapping[str, Any] = field(default_factory=dict)
    space: Callable[[Suggester, P], dict[str, Any]] | None = None
    fit_learns_validation: bool = False

    def fitter(self, params: Mapping[str, Any] | P, *, seed: int, threads: int) -> Fitter:
        """The fitter for these params (validated): how a profile's families and a logged recipe are built."""
        return self.build(self.params.model_validate(params), seed, threads)

    def mlflow_flavor(self) -> Any:
        """The MLflow flavour module (``log_model``, ``load_model``); ``Any`` as each has its own API."""
        return import_module(self.flavor)


_FAMILIES: dict[str, ModelFamily[Any]] = {}


def register_family(family: ModelFamily[Any]) -> None:
    """Make a family trainable, loggable and loadable by name."""
    _FAMILIES[family.name] = family


def family_names() -> tuple[str, ...]:
    return tuple(_FAMILIES)


def get_family(name: str) -> ModelFamily[Any]:
    if name not in _FAMILIES:
        raise ValueError(f"unknown model family {name!r}; known: {', '.join(_FAMILIES)}")
    return _FAMILIES[name]
