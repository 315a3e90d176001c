"""The one settings object.

Every configurable value of AlphaPulse is read here and nowhere else: environment variables with the
``ALPHAPULSE_`` prefix, then a ``.env`` file, then the embedded defaults under ``./.alphapulse/``. The
defaults make ``make run`` work on a fresh machine with nothing but SQLite and local files; production
overrides the URLs (``ALPHAPULSE_DATABASE_URL=postgresql+psycopg://...``).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime configuration; derived paths default to places under ``home``."""

    model_config = SettingsConfigDict(
        env_prefix="ALPHAPULSE_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    home: Path = Field(default=Path(".alphapulse"), description="Root of all embedded local state.")
    database_url: str = Field(
        default_factory=lambda data: f"sqlite:///{data['home'] / 'alphapulse.db'}",
        description="SQLAlchemy URL of the application store.",
    )
    mlflow_tracking_uri: str = Field(
        default_factory=lambda data: f"sqlite:///{data['home'] / 'mlflow.db'}",
        description="MLflow tracking URI (sqlite:/// or http://).",
    )
    mlflow_artifact_root: Path = Field(
        default_factory=lambda data: data["home"] / "mlartifacts",
        description="Where MLflow stores artifacts.",
    )
    bentoml_home: Path = Field(
        default_factory=lambda data: data["home"] / "bentoml",
        validation_alias=AliasChoices("ALPHAPULSE_BENTOML_HOME", "BENTOML_HOME"),
        description="BentoML model/bento store; the user's BENTOML_HOME wins over the embedded default.",
    )
    data_dir: Path = Field(
        default_factory=lambda data: data["home"] / "data",
        description="Reports, feature Parquet files, exports.",
    )
    bundled_data_dir: Path = Field(
        default=Path(__file__).resolve().parents[2] / "data",
        description="The shipped default dataset (repository's data/); set it when installed from a wheel.",
    )
    exchange_api_base: str | None = Field(
        default=None,
        description="Re-point the exchange's REST URLs (a proxy, a mirror, or a replay server).",
    )
    log_level: str = Field(default="INFO")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def ensure_dirs(self) -> None:
        """Create the local directories the embedded defaults point into."""
        for path in (self.home, self.mlflow_artifact_root, self.bentoml_home, self.data_dir):
            path.mkdir(parents=True, exist_ok=True)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests call ``get_settings.cache_clear()`` after changing the env."""
    return Settings()
