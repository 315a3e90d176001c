from __future__ import annotations

from pathlib import Path

import pytest

from alphapulse.settings import Settings, get_settings


def test_embedded_defaults_live_under_home(isolated_home: Path) -> None:
    settings = get_settings()
    assert settings.database_url == f"sqlite:///{isolated_home / 'alphapulse.db'}"
    assert settings.mlflow_tracking_uri == f"sqlite:///{isolated_home / 'mlflow.db'}"
    assert settings.mlflow_artifact_root == str(isolated_home / "mlartifacts")
    assert settings.bentoml_home == isolated_home / "bentoml"
    assert settings.is_sqlite


def test_default_home_is_dot_alphapulse(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALPHAPULSE_HOME")
    settings = Settings()
    assert settings.database_url == "sqlite:///.alphapulse/alphapulse.db"
    assert settings.mlflow_tracking_uri == "sqlite:///.alphapulse/mlflow.db"


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALPHAPULSE_DATABASE_URL", "postgresql+psycopg://u@db/app")
    monkeypatch.setenv("BENTOML_HOME", "/srv/bentoml")
    settings = Settings()
    assert settings.database_url == "postgresql+psycopg://u@db/app"
    assert settings.bentoml_home == Path("/srv/bentoml")
    assert not settings.is_sqlite


def test_dotenv_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("ALPHAPULSE_MLFLOW_TRACKING_URI=http://mlflow:5000\n")
    assert Settings().mlflow_tracking_uri == "http://mlflow:5000"


def test_ensure_dirs_creates_the_embedded_layout(isolated_home: Path) -> None:
    get_settings().ensure_dirs()
    for name in ("mlartifacts", "bentoml", "data"):
        assert (isolated_home / name).is_dir()
