from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from alphapulse.cli import app
from alphapulse.store import current_revision, head_revision, make_engine

runner = CliRunner()


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("run", "db", "version"):
        assert command in result.output


def test_db_upgrade_creates_the_schema(isolated_home: Path) -> None:
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert (isolated_home / "alphapulse.db").exists()
    assert current_revision(make_engine()) == head_revision()
    current = runner.invoke(app, ["db", "current"])
    assert f"database: {head_revision()}" in current.output
