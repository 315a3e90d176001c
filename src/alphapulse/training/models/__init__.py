"""Model families behind one interface; ``family`` builds one from a profile or from logged params."""

from __future__ import annotations

from typing import Any

from alphapulse.training.config import CatBoostParams, LinearParams, TrainingConfig, XGBoostParams
from alphapulse.training.models.base import Family, Fitted, NativeClassifier
from alphapulse.training.models.catboost_model import CatBoostFamily
from alphapulse.training.models.linear import LinearFamily
from alphapulse.training.models.xgboost_model import XGBoostFamily

FAMILIES = ("linear", "xgboost", "catboost")


def family(name: str, params: dict[str, Any], *, seed: int, threads: int) -> Family:
    """Rebuild a family from its logged params: the gate refits the champion's recipe this way."""
    if name == "linear":
        return LinearFamily(LinearParams.model_validate(params), seed=seed)
    if name == "xgboost":
        return XGBoostFamily(XGBoostParams.model_validate(params), seed=seed, threads=threads)
    if name == "catboost":
        return CatBoostFamily(CatBoostParams.model_validate(params), seed=seed, threads=threads)
    raise ValueError(f"unknown model family {name!r}; known: {', '.join(FAMILIES)}")


def families(config: TrainingConfig) -> list[Family]:
    """Every family with the hyper-parameters of the configured profile."""
    return [
        family(name, getattr(config.model, name).model_dump(), seed=config.seed, threads=config.threads)
        for name in FAMILIES
    ]


__all__ = ["FAMILIES", "Family", "Fitted", "NativeClassifier", "families", "family"]
