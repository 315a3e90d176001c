"""Model families as registered objects: looked up by name, rebuilt from logged params, and extensible
by registering one more without touching the config, run log or registry code."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from alphapulse.training.config import load_config
from alphapulse.training.dataset import FloatArray
from alphapulse.training.models import (
    Fitted,
    ModelFamily,
    Params,
    ParamsFitter,
    families,
    family_names,
    get_family,
    register_family,
)
from alphapulse.training.models import family as family_registry

DEFAULT_YAML = Path(__file__).resolve().parents[3].joinpath("src/alphapulse/training/default.yaml")


def test_every_module_registers_its_family_with_what_mlflow_needs() -> None:
    assert sorted(family_names()) == ["catboost", "linear", "xgboost"]
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
    with pytest.raises(ValueError, match="unknown model family 'lightgbm'; known: catboost, linear, xgboost"):
        get_family("lightgbm")


class ConstantParams(Params):
    p: float


@dataclass(frozen=True)
class ConstantFitter(ParamsFitter[ConstantParams]):
    name: str = "constant"

    def fit(self, x_fit: FloatArray, y_fit: FloatArray, x_val: FloatArray, y_val: FloatArray) -> Fitted:
        raise NotImplementedError


def test_a_new_family_is_one_registration(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(family_registry, "_FAMILIES", dict(family_registry._FAMILIES))
    register_family(
        ModelFamily(
            name="constant",
            params=ConstantParams,
            build=ConstantFitter,
            flavor="mlflow.sklearn",
            requirements=("numpy", "pandas"),
        )
    )
    with_params = tmp_path / "training.yaml"
    with_params.write_text(
        DEFAULT_YAML.read_text().replace("    n_splits: 4\n", "    n_splits: 4\n    constant: {p: 0.5}\n")
    )
    config = load_config("fast", with_params)
    assert [f.name for f in families(config)] == ["constant", "linear", "xgboost", "catboost"], (
        "profile order"
    )
    assert families(config)[0] == ConstantFitter(ConstantParams(p=0.5), config.seed, config.threads)
    assert config.model.families["constant"] == ConstantParams(p=0.5)
    with pytest.raises(ValueError, match=r"no params for the model families.*constant"):
        load_config("fast")
