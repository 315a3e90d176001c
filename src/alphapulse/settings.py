"""The one settings object.

Every configurable value of AlphaPulse is read here and nowhere else: environment variables with the
``ALPHAPULSE_`` prefix, then a ``.env`` file, then the embedded defaults under ``./.alphapulse/``. The
defaults make ``make run`` work on a fresh machine with nothing but SQLite and local files; production
overrides the URLs (``ALPHAPULSE_DATABASE_URL=postgresql+psycopg://...``).
"""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings import SettingsError as SourceError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from alphapulse.timeframes import TIMEFRAME_EXAMPLES, timeframe_seconds

ENV_PREFIX = "ALPHAPULSE_"
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class SettingsError(ValueError):
    """A setting that cannot be used: one line naming the variable, its value and what is expected."""


class Settings(BaseSettings):
    """Runtime configuration; derived paths default to places under ``home``."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
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
    symbols: Annotated[list[str], NoDecode] = Field(
        default=["BTC/USDT"],
        min_length=1,
        description="Symbols the pipeline ingests and models: comma-separated (BTC/USDT,ETH/USDT) or a JSON "
        "list.",
    )
    timeframe: str = Field(default="1h", description="Bar timeframe of the pipeline.")
    backfill_since: str = Field(default="2024-01-01", description="First bar of a backfill (ISO date, UTC).")
    news_feeds: Annotated[list[str], NoDecode] = Field(
        default=[], description="RSS/Atom URLs or files to ingest: comma-separated or a JSON list."
    )
    prefect_home: Path = Field(
        default_factory=lambda data: data["home"] / "prefect",
        description="PREFECT_HOME for local runs (Prefect without a server) unless PREFECT_HOME is set.",
    )
    prefect_startup_timeout_seconds: int = Field(
        default=120,
        ge=1,
        description="Seconds a run without PREFECT_API_URL waits for Prefect's local API to start (Prefect's "
        "own default, 20 s, is too short on a fresh home on a small or busy machine); also exported as "
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.",
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
    serving_limits_storage: str = Field(
        default="memory://",
        description="Where the service counts requests per key (the `limits` library's storage URI): "
        "memory:// counts in each worker process (embedded mode); redis://host:6379/0 shares one count "
        "between every worker and every replica.",
    )
    serving_key_limits: dict[str, str] = Field(
        default={
            "signal": "20/second;1000000/day",
            "predict": "5/second;20000/day",
            "admin": "1/second;1000/day",
            "models": "5/second;100000/day",
            "sentiment": "5/second;20000/day",
        },
        description="Default rate limits and quotas per endpoint scope, each in `limits` notation, several "
        "joined by ';' (e.g. 20/second;1000000/day); a key may carry its own (keys create --limit).",
    )
    serving_auth_failure_limit: str = Field(
        default="10/minute",
        description="Wrong keys a client address may present in this window; beyond it each further wrong "
        "key's 401 is delayed (a second), so keys cannot be tried at speed.",
    )
    serving_predict_concurrency: int = Field(
        default=1,
        ge=1,
        description="/predict requests computed at once per worker; more wait up to 2 s for a slot, then "
        "get 429, so a burst of predictions cannot take the CPU /signal needs.",
    )
    serving_cors_origins: Annotated[list[str], NoDecode] = Field(
        default=[],
        description="Browser origins allowed to call the API (CORS), comma-separated; empty (the default): "
        "no CORS headers at all.",
    )
    serving_trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default=[],
        description="Networks (CIDR) of reverse proxies whose X-Forwarded-For names the client address, "
        "comma-separated; the proxy itself is the client otherwise.",
    )
    serving_sentiment_scorers: Annotated[list[str], NoDecode] = Field(
        default=["vader"],
        min_length=1,
        description="Scorers /sentiment compares side by side, comma-separated (vader, finance_lexicon, "
        "finvader, finbert); `alphapulse model bento` installs the extras they need into the Bento.",
    )
    finbert_model: str = Field(
        default="ProsusAI/finbert",
        description="The finbert scorer's model: a Hugging Face hub id or a local directory holding a "
        "sequence-classification model and its tokenizer (HF_HUB_OFFLINE=1 never downloads).",
    )
    finbert_batch_size: int = Field(default=32, ge=1, description="Headlines per FinBERT forward pass.")
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
    serving_admission_file: Path | None = Field(
        default=None,
        description="Where the deployer admits a Bento container to Caddy's traffic: /admitted answers 200 "
        'while this file exists, 503 otherwise (docs/DEPLOY.md, "Rollouts"). Unset: always admitted.',
    )
    log_level: LogLevel = Field(
        default="INFO",
        description="Level of AlphaPulse's own log records and of the Prefect run logs (any case).",
    )

    @field_validator(
        "symbols",
        "news_feeds",
        "serving_cors_origins",
        "serving_trusted_proxies",
        "serving_sentiment_scorers",
        mode="before",
    )
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        """A JSON list, or comma-separated items (the shell-friendly form), blanks dropped."""
        if not isinstance(value, str):
            return value
        text = value.strip()
        if text.startswith("["):
            try:
                return json.loads(text)
            except json.JSONDecodeError as error:
                raise ValueError(f"not a valid JSON list ({error.msg})") from error
        return [item.strip() for item in text.split(",") if item.strip()]

    @field_validator("serving_key_limits")
    @classmethod
    def _scoped_limits(cls, value: dict[str, str]) -> dict[str, str]:
        """Known scopes in ``limits`` notation, checked here rather than by the first request a worker
        counts (imported late: the access module reads the store, whose engine reads these settings)."""
        from alphapulse.access.keys import SCOPES, parse_limits

        unknown = sorted(set(value) - set(SCOPES))
        if unknown:
            raise ValueError(f"unknown scopes {unknown}; the scopes are {', '.join(SCOPES)}")
        for scope, text in value.items():
            parse_limits(text, scope=scope)
        return value

    @field_validator("serving_sentiment_scorers")
    @classmethod
    def _registered_scorers(cls, value: list[str]) -> list[str]:
        from alphapulse.features.sentiment import scorer_names

        unknown = sorted(set(value) - set(scorer_names()))
        if unknown:
            raise ValueError(f"unknown scorers {unknown}; registered: {', '.join(scorer_names())}")
        return list(dict.fromkeys(value))

    @field_validator("serving_auth_failure_limit")
    @classmethod
    def _failure_limit(cls, value: str) -> str:
        from alphapulse.access.keys import parse_limits

        parse_limits(value)
        return value

    @field_validator("timeframe")
    @classmethod
    def _known_timeframe(cls, value: str) -> str:
        try:
            timeframe_seconds(value)
        except ValueError as error:
            raise ValueError(
                f"expected <n><s|m|h|d|w>, one of e.g. {', '.join(TIMEFRAME_EXAMPLES)}"
            ) from error
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("home")
    @classmethod
    def _home_not_a_file(cls, value: Path) -> Path:
        if value.exists() and not value.is_dir():
            raise ValueError("expected a folder (it is a file)")
        return value

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
    rollout_admission_seconds: float = Field(
        default=4.0,
        gt=0,
        description="How long Caddy takes to see a Bento container admitted or withdrawn: its active "
        "health check of /admitted runs every second with a 2 s timeout (deploy/Caddyfile), so this "
        "must exceed 3 s.",
    )
    rollout_bootstrap_retry_seconds: float = Field(
        default=120.0,
        gt=0,
        description="With nothing serving yet (a fresh server), how often the deployer tries the initial "
        "image again: it fails its smoke check until the pipeline has stored features.",
    )
    rollout_ready_timeout_seconds: float = Field(
        default=180.0, gt=0, description="How long a new Bento container may take to pass /readyz."
    )
    rollout_drain_seconds: float = Field(
        default=5.0,
        ge=0,
        description="Wait between withdrawing the old container from Caddy and stopping it: requests "
        "already proxied to it finish, and Caddy closes its idle connections to it (after 2 s).",
    )
    rollout_stop_timeout_seconds: int = Field(
        default=30, ge=1, description="SIGTERM to SIGKILL when stopping a Bento container."
    )

    @property
    def bundled(self) -> bool:
        """No exchange configured: the pipeline runs on the dataset that ships with AlphaPulse."""
        return self.exchange is None

    def tool_environment(self) -> dict[str, str]:
        """Environment for the tools AlphaPulse drives (Prefect, BentoML, MLflow) on the embedded defaults."""
        return {
            "PREFECT_HOME": str(self.prefect_home.resolve()),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": str(self.prefect_startup_timeout_seconds),
            "BENTOML_HOME": str(self.bentoml_home.resolve()),
            "BENTOML_DO_NOT_TRACK": "true",
            "PREFECT_LOGGING_LEVEL": self.log_level,
            "MLFLOW_TRACKING_URI": self.mlflow_tracking_uri,
            # BentoML records an OpenTelemetry span per request even at sample rate 0 (half the cost of a
            # /signal call); set OTEL_SDK_DISABLED=false yourself when you export traces.
            "OTEL_SDK_DISABLED": "true",
        }

    def apply_tool_environment(self) -> None:
        """Export :meth:`tool_environment` for this process and its children; the user's own values win."""
        _make_dir(self.home, "home")
        _make_dir(self.prefect_home, "prefect_home")
        for name, value in self.tool_environment().items():
            os.environ.setdefault(name, value)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def ensure_dirs(self) -> None:
        """Create the local directories the embedded defaults point into."""
        local: list[tuple[Path, str]] = [
            (self.home, "home"),
            (self.bentoml_home, "bentoml_home"),
            (self.data_dir, "data_dir"),
            (self.prefect_home, "prefect_home"),
        ]
        if not is_uri(self.mlflow_artifact_root):
            local.append((Path(self.mlflow_artifact_root), "mlflow_artifact_root"))
        for path, field in local:
            _make_dir(path, field)

    def database_display(self) -> str:
        """The database URL with its password masked, fit for output and logs."""
        try:
            return make_url(self.database_url).render_as_string(hide_password=True)
        except ArgumentError:
            return self.database_url

    def describe(self) -> list[tuple[str, str]]:
        """Where this run's state lives: printed by `run` and beside errors that concern it."""
        return [
            ("home", str(self.home.resolve())),
            ("database", self.database_display()),
            ("tracking", self.mlflow_tracking_uri),
        ]


def variable(field: str) -> str:
    """The environment variable of a settings field."""
    return f"{ENV_PREFIX}{field.upper()}"


def _make_dir(path: Path, field: str) -> None:
    """Create a configured folder; failure names the setting, the path and the reason, in one line."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SettingsError(
            f"{variable(field)}={path}: cannot create {error.filename or path} ({error.strerror or error}); "
            "expected a folder that can be created and written"
        ) from error
    if not os.access(path, os.W_OK | os.X_OK):
        raise SettingsError(
            f"{variable(field)}={path}: the folder is not writable; expected a writable folder"
        )


def _one_line(error: ValidationError) -> str:
    """Every problem of a ValidationError as ``ALPHAPULSE_X='value': what is wrong``, joined by "; "."""
    problems = []
    for item in error.errors():
        if item["type"] == "default_factory_not_called":  # a consequence of another field's error
            continue
        field = str(item["loc"][0]) if item["loc"] else ""
        message = item["msg"].removeprefix("Value error, ")
        problems.append(f"{variable(field)}={item.get('input')!r}: {message}")
    return "; ".join(problems)


def load_settings() -> Settings:
    """Settings from the environment, or a :class:`SettingsError` in one line (no pydantic traceback)."""
    try:
        return Settings()
    except ValidationError as error:
        raise SettingsError(_one_line(error)) from None
    except SourceError as error:  # a value pydantic-settings could not even decode
        raise SettingsError(str(error)) from None


_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")


def is_uri(location: str) -> bool:
    """``s3://...``, ``file://...`` or MLflow's proxied ``mlflow-artifacts:/``, as opposed to a local path."""
    return _URI.match(location) is not None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests call ``get_settings.cache_clear()`` after changing the env."""
    return load_settings()
