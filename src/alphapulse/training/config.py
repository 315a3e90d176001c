"""Training configuration: the packaged ``default.yaml`` validated by pydantic, one profile selected.

Hyper-parameters live in configuration rather than code so a run's MLflow params fully describe it and the
gate can refit the champion's exact recipe later.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

Profile = Literal["fast", "full"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LinearParams(_Strict):
    C: float = Field(gt=0, description="Inverse L2 strength of the logistic regression.")
    max_iter: int = Field(ge=10)


class XGBoostParams(_Strict):
    n_estimators: int = Field(ge=1)
    learning_rate: float = Field(gt=0)
    max_depth: int = Field(ge=1)
    subsample: float = Field(gt=0, le=1)
    colsample_bytree: float = Field(gt=0, le=1)
    min_child_weight: float = Field(ge=0)
    reg_lambda: float = Field(ge=0)
    early_stopping_rounds: int = Field(ge=1)


class CatBoostParams(_Strict):
    iterations: int = Field(ge=1)
    learning_rate: float = Field(gt=0)
    depth: int = Field(ge=1, le=16)
    l2_leaf_reg: float = Field(ge=0)
    early_stopping_rounds: int = Field(ge=1)


class ProfileConfig(_Strict):
    n_splits: int = Field(ge=2, description="At least two: the latest fold is judged, earlier ones select.")
    linear: LinearParams
    xgboost: XGBoostParams
    catboost: CatBoostParams


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
    margin: float = Field(ge=0, lt=0.5)
    alpha: float = Field(gt=0, lt=0.5)


class TrainingConfig(_Strict):
    profile: Profile
    seed: int
    threads: int = Field(ge=1)
    fee_bps: float = Field(ge=0)
    splits: SplitConfig
    evaluation: EvaluationConfig
    gate: GateConfig
    model: ProfileConfig

    @property
    def fee(self) -> float:
        """The fee as a fraction of notional, charged per unit of position change."""
        return self.fee_bps / 10_000


def load_config(profile: Profile = "fast", path: Path | None = None) -> TrainingConfig:
    """Read ``path`` (default: the packaged YAML), pick ``profile``; unknown keys fail, not pass silently."""
    text = path.read_text() if path else files("alphapulse.training").joinpath("default.yaml").read_text()
    raw: dict[str, Any] = yaml.safe_load(text)
    profiles = raw.pop("profiles")
    if profile not in profiles:
        raise ValueError(f"profile {profile!r} is not one of {sorted(profiles)}")
    return TrainingConfig.model_validate({**raw, "profile": profile, "model": profiles[profile]})
