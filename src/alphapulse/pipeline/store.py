"""The one way a use case opens the store: local directories made, schema migrated to head."""

from __future__ import annotations

from sqlalchemy import Engine

from alphapulse.settings import Settings
from alphapulse.store import ensure_schema


def open_store(settings: Settings) -> Engine:
    """Every command and flow step starts here, so none of them can forget the directories or the
    migration (the embedded SQLite file lives under the home they create)."""
    settings.ensure_dirs()
    engine: Engine = ensure_schema(settings.database_url)
    return engine
