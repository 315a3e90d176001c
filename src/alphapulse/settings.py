"""The one settings object.

Every configurable value of AlphaPulse is read here and nowhere else: environment variables with the
``ALPHAPULSE_`` prefix, then a ``.env`` file, then the embedded defaults under ``./.alphapulse/``. The
defaults make ``make run`` work on a fresh machine with nothing but SQLite and local files; production
overrides the URLs (``ALPHAPULSE_DATABASE_URL=postgresql+psycopg://...``).
"""

from __future__ import annotations

import os
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
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
    database_connect_timeout: int = Field(
        default=5,
        ge=2,
        description="Seconds to wait for a PostgreSQL connection before giving up (libpq's "
        "connect_timeout), so an unreachable database fails fast instead of hanging its caller.",
    )
    mlflow_tracking_uri: str = Field(
        default_factory=lambda data: f"sqlite:///{data['home'] / 'mlflow.db'}",
        description="MLflow tracking URI (sqlite:/// or http://).",
    )
    mlflow_artifact_root: str = Field(
        default_factory=lambda data: str(data["home"] / "mlartifacts"),
        description="Where MLflow stores artifacts: a local directory or a URI such as s3://bucket/mlflow.",
    )
    bentoml_home: Path = Field(
        default_factory=lambda data: data["home"] / "bentoml",
        validation_alias=AliasChoices("ALPHAPULSE_BENTOML_HOME", "BENTOML_HOME"),
        description="BentoML model/bento store; the user's BENTOML_HOME wins over the embedded default.",
    )
    bento_exports_uri: str | None = Field(
        default=None,
        description="Artifact store that every built Bento is exported to (`bentoml export`): a folder or "
        "s3://bucket/prefix; unset keeps Bentos in the local BentoML store only.",
    )
    data_dir: Path = Field(
        default_factory=lambda data: data["home"] / "data",
        description="Reports, feature Parquet files, exports.",
    )
    bundled_data_dir: Path = Field(
        default=Path(str(files("alphapulse") / "data")),
        description="The default dataset; it ships inside the package (alphapulse/data, see its README.md).",
    )
    exchange_api_base: str | None = Field(
        default=None,
        description="Re-point the exchange's REST URLs (a proxy, a mirror, or a replay server).",
    )
    exchange: str | None = Field(
        default=None, description="ccxt exchange id to ingest from; unset means the bundled dataset."
    )
    symbols: list[str] = Field(default=["BTC/USDT"], description="Symbols the pipeline ingests and models.")
    timeframe: str = Field(default="1h", description="Bar timeframe of the pipeline.")
    backfill_since: str = Field(default="2024-01-01", description="First bar of a backfill (ISO date, UTC).")
    news_feeds: list[str] = Field(default=[], description="RSS/Atom URLs or files to ingest.")
    prefect_home: Path = Field(
        default_factory=lambda data: data["home"] / "prefect",
        description="PREFECT_HOME for local runs (Prefect without a server) unless PREFECT_HOME is set.",
    )
    drift_share_threshold: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Share of the compared feature columns that must drift (each past its own threshold) "
        "for drift to be declared; docs/MONITORING.md.",
    )
    drift_recent_bars: int = Field(
        default=24, ge=12, description="Bars in the current window of the drift check (the last N bars)."
    )
    drift_reference_bars: int = Field(
        default=720,
        ge=120,
        description="Bars in the drift reference window: the end of the champion's training data, or the "
        "bars before the current window; at least 10 current windows long.",
    )
    drift_severe_factor: float = Field(
        default=2.0,
        gt=1,
        description="A single column whose drift score reaches this multiple of its threshold declares "
        "drift on its own (a broken or rescaled feature).",
    )
    retrain_cooldown_hours: float = Field(
        default=24.0,
        ge=0,
        description="At most one drift- or performance-triggered retraining request per model per this "
        "many hours.",
    )
    live_accuracy_floor: float = Field(
        default=0.5, ge=0, le=1, description="Live directional accuracy below which performance is degraded."
    )
    live_min_outcomes: int = Field(
        default=100, ge=1, description="Resolved bars (not requests) needed before live accuracy is judged."
    )
    retention_days: int = Field(
        default=180,
        ge=1,
        description="Prediction log rows, quality findings and report files older than this many days are "
        "archived and then deleted by the monitor flow.",
    )
    archive_root: str = Field(
        default_factory=lambda data: f"{str(data['mlflow_artifact_root']).rstrip('/')}/archive",
        description="Where retention archives (Parquet tables, report files): a local directory or "
        "s3://bucket/prefix; default: the archive folder of the artifact root.",
    )
    s3_endpoint_url: str | None = Field(
        default=None,
        description="S3 API endpoint for s3:// locations AlphaPulse writes itself (the archive), e.g. MinIO "
        "or another S3-compatible store; unset means AWS. Credentials come from the standard AWS chain.",
    )
    alert_webhook_url: str | None = Field(
        default=None, description="Where Prefect posts failed-flow-run notifications (Slack, Teams, ntfy...)."
    )
    work_pool: str = Field(default="hetzner-process", description="Prefect work pool the deployments run on.")
    admin_api_key: SecretStr | None = Field(
        default=None, description="Key for the service's admin endpoints (X-API-Key); unset refuses them all."
    )
    shadow_challenger: bool = Field(
        default=False, description="Serve the champion and also score the challenger on every request."
    )
    serving_refresh_seconds: float = Field(
        default=30.0, gt=0, description="How often the service re-reads precomputed features and reloads."
    )
    serving_workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        description="BentoML server processes (one per core where nothing else shares the machine).",
    )
    serving_recycle_requests: int = Field(
        default=100,
        ge=0,
        description="With several workers, each closes one keep-alive connection per this many responses, "
        "so connections spread over the workers (0: never).",
    )
    serving_max_age_bars: float = Field(
        default=2.0,
        gt=0,
        description="/signal answers 503 when its latest bar closed more than this many bars of its "
        "timeframe ago (the bundled data is years old: raise it, e.g. to 1e6, to serve that).",
    )
    deployer_url: str | None = Field(
        default=None,
        description="The deployer's API (e.g. http://deployer:8700): the export flow asks it to roll out "
        "every Bento it builds; unset builds and exports without rolling out.",
    )
    deployer_token: SecretStr | None = Field(
        default=None,
        description="Bearer token of the deployer's API, the same on the deployer and its callers; the "
        "deployer refuses to start without one.",
    )
    deployer_state_dir: Path = Field(
        default_factory=lambda data: data["home"] / "deployer",
        description="The deployer's own files: its state (which colour serves which tag) and history.",
    )
    docker_socket: Path = Field(
        default=Path("/var/run/docker.sock"),
        description="The Docker Engine API socket; only the deployer talks to it.",
    )
    rollout_image_repository: str | None = Field(
        default=None,
        description="Repository of Bento images (<repository>:<bento version>); default: the initial "
        "image's repository, else `alphapulse` (the local name of images built from exported Bentos).",
    )
    rollout_initial_image: str | None = Field(
        default=None,
        description="Image the deployer starts when it has no state yet (a fresh server): the release's "
        "Bento image (ALPHAPULSE_IMAGE).",
    )
    rollout_container_prefix: str = Field(
        default="alphapulse-bento",
        description="Bento containers are <prefix>-blue and <prefix>-green.",
    )
    rollout_networks: list[str] = Field(
        default=[],
        description="Docker networks a Bento container joins (DNS by container name); the first one "
        "at creation. Empty: host networking on rollout_host_ports (tests on loopback).",
    )
    rollout_host_ports: tuple[int, int] = Field(
        default=(3001, 3002),
        description="Ports of the blue and green container with host networking (no rollout_networks).",
    )
    rollout_bento_env: dict[str, str] = Field(
        default={},
        description="Environment of the Bento containers (database URL, admin key...), as JSON.",
    )
    rollout_build_network: str | None = Field(
        default=None,
        description="Network mode of image builds from an exported Bento (`host` where bridges have "
        "no route out); unset: the engine's default.",
    )
    rollout_upstream_file: Path = Field(
        default_factory=lambda data: data["home"] / "deployer" / "bento-upstream.caddy",
        description="The Caddyfile fragment naming the serving container (`to <address>`), which the "
        "Caddyfile imports (BENTO_UPSTREAM_FILE); the deployer rewrites it and reloads Caddy.",
    )
    rollout_caddy_container: str | None = Field(
        default=None,
        description="Container the Caddy reload command runs in (through the Engine API, so Caddy's admin "
        "endpoint stays on its own loopback); unset runs the command here.",
    )
    rollout_caddy_reload: list[str] = Field(
        default=["caddy", "reload", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"],
        description="Command that makes Caddy re-read its Caddyfile (a graceful reload).",
    )
    rollout_ready_timeout_seconds: float = Field(
        default=180.0, gt=0, description="How long a new Bento container may take to pass /readyz."
    )
    rollout_drain_seconds: float = Field(
        default=5.0,
        ge=0,
        description="Wait between switching Caddy and stopping the old container: requests already "
        "proxied to it finish.",
    )
    rollout_stop_timeout_seconds: int = Field(
        default=30, ge=1, description="SIGTERM to SIGKILL when stopping a Bento container."
    )
    log_level: str = Field(default="INFO")

    @property
    def bundled(self) -> bool:
        """No exchange configured: the pipeline runs on the dataset that ships with AlphaPulse."""
        return self.exchange is None

    def tool_environment(self) -> dict[str, str]:
        """Environment for the tools AlphaPulse drives (Prefect, BentoML, MLflow) on the embedded defaults."""
        return {
            "PREFECT_HOME": str(self.prefect_home.resolve()),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "BENTOML_HOME": str(self.bentoml_home.resolve()),
            "BENTOML_DO_NOT_TRACK": "true",
            "MLFLOW_TRACKING_URI": self.mlflow_tracking_uri,
            # BentoML records an OpenTelemetry span per request even at sample rate 0 (half the cost of a
            # /signal call); set OTEL_SDK_DISABLED=false yourself when you export traces.
            "OTEL_SDK_DISABLED": "true",
        }

    def apply_tool_environment(self) -> None:
        """Export :meth:`tool_environment` for this process and its children; the user's own values win."""
        self.prefect_home.mkdir(parents=True, exist_ok=True)
        for name, value in self.tool_environment().items():
            os.environ.setdefault(name, value)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def ensure_dirs(self) -> None:
        """Create the local directories the embedded defaults point into."""
        local: list[Path] = [self.home, self.bentoml_home, self.data_dir, self.prefect_home]
        if "://" not in self.mlflow_artifact_root:
            local.append(Path(self.mlflow_artifact_root))
        for path in local:
            path.mkdir(parents=True, exist_ok=True)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests call ``get_settings.cache_clear()`` after changing the env."""
    return Settings()
