"""Training configuration: the packaged ``default.yaml`` validated by pydantic, one profile selected.

Hyper-parameters live in configuration rather than code so a run's MLflow params fully describe it and the
gate can refit the champion's exact recipe later.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails

from alphapulse.decisions import Costs, DecisionRule
from alphapulse.training.models import Params, family_names, get_family

Profile = Literal["fast", "full"]
PrimaryMetric = Literal["accuracy", "net_return"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TuningConfig(_Strict):
    """The hyper-parameter search budget: trials per family and walk-forward fold (0: the params as given)."""

    trials: int = Field(default=0, ge=0)
    timeout_seconds: float | None = Field(default=None, gt=0)


class ProfileConfig(_Strict):
    """How many folds a profile runs, its tuning budget, and each registered family's hyper-parameters
    under its name (the starting point of the search when tuning).

    In the YAML the families sit beside ``n_splits``; each is validated by its own family's params class,
    and every registered family must be there (a misspelt family is an unknown key, not a skipped model).
    """

    n_splits: int = Field(ge=2, description="At least two: the latest fold is judged, earlier ones select.")
    tuning: TuningConfig = TuningConfig()
    families: dict[str, SerializeAsAny[Params]]

    @model_validator(mode="before")
    @classmethod
    def _gather_families(cls, raw: Any) -> Any:
        if isinstance(raw, dict) and "families" not in raw:
            return {
                **{key: value for key, value in raw.items() if key in cls.model_fields},
                "families": {key: value for key, value in raw.items() if key not in cls.model_fields},
            }
        return raw

    @field_validator("families", mode="before")
    @classmethod
    def _validate_each_family(cls, given: Any) -> dict[str, Params]:
        if not isinstance(given, dict):
            raise ValueError("expected a mapping of family name to params")
        names = family_names()
        unknown = [name for name in given if name not in names]
        if unknown:
            raise ValueError(f"unknown model families {unknown}; registered: {', '.join(names)}")
        missing = [name for name in names if name not in given]
        if missing:
            raise ValueError(f"no params for the model families {missing}")
        validated: dict[str, Params] = {}
        errors: list[InitErrorDetails] = []
        for name in given:  # the profile's order is the tables' order
            try:
                validated[name] = get_family(name).params.model_validate(given[name])
            except ValidationError as error:
                errors.extend(_under(name, error))
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return validated


def _under(name: str, error: ValidationError) -> list[InitErrorDetails]:
    """A family's params errors located under its name, so the message says which family's key is wrong."""
    return [
        InitErrorDetails(
            type=detail["type"], loc=(name, *detail["loc"]), input=detail["input"], ctx=detail.get("ctx", {})
        )
        for detail in error.errors()
    ]


class SplitConfig(_Strict):
    test_bars: int = Field(ge=10)
    embargo_bars: int = Field(ge=0)
    mode: Literal["expanding", "sliding"]
    max_train_bars: int | None = Field(default=None, ge=1)
    min_train_bars: int = Field(ge=10)
    inner_validation_fraction: float = Field(gt=0, lt=0.5)


class EvaluationConfig(_Strict):
    bootstrap_iterations: int = Field(ge=50)
    block_bars: int = Field(ge=1)
    confidence: float = Field(gt=0.5, lt=1)


class GateConfig(_Strict):
    primary_metric: PrimaryMetric = "accuracy"
    margin: float = Field(ge=0, lt=0.5, description="Per-bar gain in the primary metric over every opponent.")
    alpha: float = Field(gt=0, lt=0.5)
    sharpe_floor: Literal["buy_and_hold"] | float = Field(
        default="buy_and_hold",
        description="The net Sharpe's lower confidence bound must exceed this, or buy-and-hold's Sharpe.",
    )
    spa_reps: int = Field(default=1000, ge=100, description="Bootstrap resamples of Hansen's SPA test.")


class CostConfig(_Strict):
    """Trading costs: a default and per-exchange overrides (by ccxt exchange id)."""

    default: Costs
    exchanges: dict[str, Costs] = Field(default_factory=dict)

    def of(self, exchange: str | None) -> Costs:
        return self.exchanges.get(exchange or "", self.default)


class TrainingConfig(_Strict):
    profile: Profile
    seed: int
    threads: int = Field(ge=1)
    costs: CostConfig
    decision: DecisionRule
    splits: SplitConfig
    evaluation: EvaluationConfig
    gate: GateConfig
    model: ProfileConfig


def load_config(profile: Profile = "fast", path: Path | None = None) -> TrainingConfig:
    """Read ``path`` (default: the packaged YAML), pick ``profile``; unknown keys fail, not pass silently."""
    text = path.read_text() if path else files("alphapulse.training").joinpath("default.yaml").read_text()
    raw: dict[str, Any] = yaml.safe_load(text)
    profiles = raw.pop("profiles")
    if profile not in profiles:
        raise ValueError(f"profile {profile!r} is not one of {sorted(profiles)}")
    return TrainingConfig.model_validate({**raw, "profile": profile, "model": profiles[profile]})
