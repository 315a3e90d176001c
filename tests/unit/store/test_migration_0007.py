"""0007 adds the ``api_keys`` table and its indexes, and takes them away again, on both backends."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from alphapulse.store import current_revision, head_revision, make_engine, upgrade
from alphapulse.store.migrate import alembic_config


def test_0007_creates_and_drops_the_api_keys_table(backend_url: str) -> None:
    engine = make_engine(backend_url)
    upgrade(engine, "0006")
    assert "api_keys" not in inspect(engine).get_table_names()
    upgrade(engine, "0007")
    indexes = {index["name"]: index for index in inspect(engine).get_indexes("api_keys")}
    assert indexes["ix_api_keys_key_id"]["unique"]
    assert not indexes["ix_api_keys_name"]["unique"]
    assert indexes["ix_api_keys_active_name"]["unique"]
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0006")
    assert current_revision(engine) == "0006"
    assert "api_keys" not in inspect(engine).get_table_names()
    assert upgrade(engine) == head_revision()
    assert "api_keys" in inspect(engine).get_table_names()
    engine.dispose()
