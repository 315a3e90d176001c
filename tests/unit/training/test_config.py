from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from alphapulse.training.config import load_config
from alphapulse.training.models import families


def test_profiles_share_the_window_and_differ_in_folds_and_trees() -> None:
    fast, full = load_config("fast"), load_config("full")
    assert fast.fee_bps == 10.0
    assert fast.fee == pytest.approx(0.001)
    assert fast.splits == full.splits
    assert fast.model.n_splits < full.model.n_splits
    assert fast.model.xgboost.n_estimators < full.model.xgboost.n_estimators
    assert [f.name for f in families(fast)] == ["linear", "xgboost", "catboost"]


def test_unknown_profile_and_unknown_keys_are_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="profile 'huge'"):
        load_config("huge")  # type: ignore[arg-type]
    text = Path(__file__).resolve().parents[3].joinpath("src/alphapulse/training/default.yaml").read_text()
    broken = tmp_path / "training.yaml"
    broken.write_text(text.replace("fee_bps: 10.0", "fee_bps: 10.0\nfees_bps: 5"))
    with pytest.raises(ValidationError, match="fees_bps"):
        load_config("fast", broken)
