"""Schema migrations through Alembic, driven from code so ``alphapulse db upgrade`` needs no alembic.ini."""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from alphapulse.settings import get_settings
from alphapulse.store.engine import make_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Bring the schema to ``revision``; returns the revision the database is at afterwards."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    return current_revision(engine)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


_MIGRATION_LOCK = threading.Lock()
_MIGRATED: dict[str, Engine] = {}


def ensure_schema(url: str | None = None) -> Engine:
    """An engine whose database is migrated to head: the entry point for every command that touches data.

    Migrates once per database per process, under a lock: Alembic's context is process-global and not
    thread-safe, and Prefect runs mapped tasks in threads. The engine (and its pool) is shared.
    """
    target = url or get_settings().database_url
    with _MIGRATION_LOCK:
        engine = _MIGRATED.get(target)
        if engine is None:
            engine = make_engine(target)
            upgrade(engine)
            _MIGRATED[target] = engine
        return engine
