"""Which family becomes this run's challenger, and the fingerprint that says whether it is anything new."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from alphapulse.training.config import TrainingConfig
from alphapulse.training.dataset import Dataset
from alphapulse.training.evaluation import Evaluation


def choose_challenger(evaluations: Mapping[str, Evaluation], names: Sequence[str]) -> str:
    """Best mean accuracy over every fold but the latest: the gate judges the latest, so choosing on it
    would let selection luck pass for skill."""

    def earlier_folds(name: str) -> float:
        per_fold = evaluations[name].per_fold
        return float(np.mean(per_fold["accuracy"].iloc[:-1]))

    return max(names, key=earlier_folds)


def recipe(
    family: str, params: Mapping[str, Any], columns: Sequence[str], feature_version: str
) -> dict[str, Any]:
    return {
        "family": family,
        "params": dict(params),
        "feature_columns": list(columns),
        "feature_version": feature_version,
    }


def fingerprint(recipe_: Mapping[str, Any], dataset: Dataset, config: TrainingConfig) -> str:
    """Same recipe, same rows, same evaluation protocol: the same model, so nothing to judge again."""
    payload = {
        **recipe_,
        "data_start": dataset.open_time[0].isoformat(),
        "data_end": dataset.open_time[-1].isoformat(),
        "rows": len(dataset),
        "splits": config.splits.model_dump(),
        "n_splits": config.model.n_splits,
        "seed": config.seed,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
