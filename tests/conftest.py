"""Shared fixtures: isolated settings, and the two real backends every store test runs against."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine

from alphapulse.settings import Settings, get_settings
from alphapulse.store import make_engine, upgrade
from tests.support.tiny_bert import write_tiny_bert

#: The wheel installed into a fresh venv and the champion its ``alphapulse run`` trained: session fixtures
#: shared by the e2e tests and the container tests, so one session installs and trains once.
pytest_plugins = ["tests.support.wheel_world"]

PG_ADMIN_DSN = os.environ.get("ALPHAPULSE_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A FinBERT-shaped model directory (random weights) for the finbert scorer's real code path."""
    return write_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own embedded home so nothing leaks between tests or into the work tree."""
    home = tmp_path / "alphapulse-home"
    for name in list(os.environ):
        if name.startswith("ALPHAPULSE_") and name != "ALPHAPULSE_TEST_PG_DSN":
            monkeypatch.delenv(name)
    tool_variables = {name: os.environ.get(name) for name in Settings().tool_environment()}
    for name in tool_variables:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ALPHAPULSE_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()
    for name, value in tool_variables.items():  # the CLI exports these with setdefault; undo it
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _admin_connection() -> psycopg.Connection:
    return psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5)


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The admin DSN of the real PostgreSQL; CI must have it, a developer box may skip."""
    try:
        with _admin_connection():
            return PG_ADMIN_DSN
    except psycopg.OperationalError as error:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI but unreachable: {error}")
        pytest.skip(f"PostgreSQL unreachable at {PG_ADMIN_DSN}: {error}")


@contextmanager
def throwaway_database(pg_server: str) -> Iterator[str]:
    """A database created for the block and dropped (with any open connections) afterwards."""
    name = f"alphapulse_test_{uuid.uuid4().hex[:12]}"
    with _admin_connection() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    host_part = pg_server.rsplit("/", 1)[0].removeprefix("postgresql://")
    try:
        yield f"postgresql+psycopg://{host_part}/{name}"
    finally:
        with _admin_connection() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A throwaway database for one test."""
    with throwaway_database(pg_server) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend_url(request: pytest.FixtureRequest) -> str:
    fixture = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture
def engine(backend_url: str) -> Iterator[Engine]:
    """A migrated engine on each backend in turn."""
    built = make_engine(backend_url)
    upgrade(built)
    yield built
    built.dispose()
