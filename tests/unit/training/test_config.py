from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from alphapulse.training.config import load_config
from alphapulse.training.models import families
from alphapulse.training.models.xgboost_model import XGBoostParams

DEFAULT_YAML = Path(__file__).resolve().parents[3].joinpath("src/alphapulse/training/default.yaml")


def test_profiles_share_the_window_and_differ_in_folds_and_trees() -> None:
    fast, full = load_config("fast"), load_config("full")
    assert fast.costs.of("binance").per_unit == pytest.approx(0.0011)
    assert fast.costs.of("an-exchange-without-its-own") == fast.costs.default
    assert fast.decision == full.decision
    assert fast.model.tuning.trials < full.model.tuning.trials
    assert fast.splits == full.splits
    assert fast.model.n_splits < full.model.n_splits
    fast_trees, full_trees = fast.model.families["xgboost"], full.model.families["xgboost"]
    assert isinstance(fast_trees, XGBoostParams)
    assert isinstance(full_trees, XGBoostParams)
    assert fast_trees.n_estimators < full_trees.n_estimators
    assert [f.name for f in families(fast)] == ["linear", "xgboost", "catboost"]


def test_unknown_profile_and_unknown_keys_are_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="profile 'huge'"):
        load_config("huge")  # type: ignore[arg-type]
    broken = tmp_path / "training.yaml"
    broken.write_text(
        DEFAULT_YAML.read_text().replace("mode: long_flat ", "mode: long_flat\n  modes: [long_short]\n ")
    )
    with pytest.raises(ValidationError, match=r"decision\.modes"):
        load_config("fast", broken)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("max_iter: 500}", "max_iter: 500, penalty: l1}"), r"families\.linear\.penalty"),
        (("    n_splits: 4\n", "    n_splits: 4\n    lightgbm: {}\n"), "unknown model families.*lightgbm"),
        (("    linear: {C: 0.05, max_iter: 500}\n", ""), "no params for the model families.*linear"),
    ],
)
def test_each_family_is_validated_by_its_own_params(
    tmp_path: Path, edit: tuple[str, str], message: str
) -> None:
    text = DEFAULT_YAML.read_text()
    assert edit[0] in text
    broken = tmp_path / "training.yaml"
    broken.write_text(text.replace(*edit, 1))
    with pytest.raises(ValidationError, match=message):
        load_config("fast", broken)


def test_the_config_survives_a_round_trip_through_plain_data() -> None:
    fast = load_config("fast")
    assert type(fast).model_validate(fast.model_dump()) == fast
