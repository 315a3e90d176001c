"""Model families as registered objects: looked up by name, rebuilt from logged params, and extensible
by registering one more without touching the config, run log or registry code."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from alphapulse.training.config import load_config
from alphapulse.training.dataset import FloatArray
from alphapulse.training.models import (
    Fitted,
    ModelFamily,
    Params,
    families,
    family_names,
    get_family,
    register_family,
)
from alphapulse.training.models import family as family_registry

DEFAULT_YAML = Path(__file__).resolve().parents[3].joinpath("src/alphapulse/training/default.yaml")


def test_families_are_registered_in_table_order_with_what_mlflow_needs() -> None:
    assert family_names() == ("linear", "xgboost", "catboost")
    for name in family_names():
        spec = get_family(name)
        assert spec.name == name
        assert spec.flavor.startswith("mlflow.")
        assert {"numpy", "pandas"} <= set(spec.requirements)
    assert get_family("linear").log_options == {"skops_trusted_types": ["numpy.dtype"]}


def test_a_logged_recipe_rebuilds_the_profile_fitter() -> None:
    config = load_config("fast")
    for fitter in families(config):
        rebuilt = get_family(fitter.name).fitter(fitter.params, seed=config.seed, threads=config.threads)
        assert rebuilt == fitter


def test_an_unknown_family_is_named() -> None:
    with pytest.raises(ValueError, match="unknown model family 'lightgbm'; known: linear, xgboost, catboost"):
        get_family("lightgbm")


class ConstantParams(Params):
    p: float


@dataclass(frozen=True)
class ConstantFitter:
    config: ConstantParams
    name: str = "constant"

    @property
    def params(self) -> dict[str, Any]:
        return self.config.model_dump()

    def fit(self, x_fit: FloatArray, y_fit: FloatArray, x_val: FloatArray, y_val: FloatArray) -> Fitted:
        raise NotImplementedError


def test_a_new_family_is_one_registration(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(family_registry, "_FAMILIES", dict(family_registry._FAMILIES))
    register_family(
        ModelFamily(
            name="constant",
            params=ConstantParams,
            build=lambda params, seed, threads: ConstantFitter(params),
            flavor="mlflow.sklearn",
            requirements=("numpy", "pandas"),
        )
    )
    with_params = tmp_path / "training.yaml"
    with_params.write_text(
        DEFAULT_YAML.read_text().replace("    n_splits: 4\n", "    n_splits: 4\n    constant: {p: 0.5}\n")
    )
    config = load_config("fast", with_params)
    assert [f.name for f in families(config)] == ["linear", "xgboost", "catboost", "constant"]
    assert families(config)[-1] == ConstantFitter(ConstantParams(p=0.5))
    assert config.model.families["constant"] == ConstantParams(p=0.5)
    with pytest.raises(ValueError, match=r"no params for the model families.*constant"):
        load_config("fast")
