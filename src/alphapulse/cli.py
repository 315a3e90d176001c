"""The ``alphapulse`` command line: a thin typer layer over the library."""

from __future__ import annotations

import typer
from rich.table import Table

from alphapulse import __version__
from alphapulse.console import console
from alphapulse.settings import get_settings
from alphapulse.store import current_revision, head_revision, make_engine, upgrade

app = typer.Typer(help="AlphaPulse: crypto trading signals from candles and news.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema management.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@app.callback()
def main() -> None:
    """AlphaPulse command line."""


@app.command()
def version() -> None:
    """Print the installed AlphaPulse version."""
    console.print(__version__)


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Target Alembic revision.")) -> None:
    """Create or migrate the schema of the configured database."""
    settings = get_settings()
    settings.ensure_dirs()
    engine = make_engine()
    reached = upgrade(engine, revision)
    console.print(
        f"database [bold]{engine.url.render_as_string(hide_password=True)}[/] at revision {reached}"
    )


@db_app.command("current")
def db_current() -> None:
    """Show the database's revision beside the code's head revision."""
    engine = make_engine()
    console.print(f"database: {current_revision(engine)}  code head: {head_revision()}")


@app.command()
def run() -> None:
    """Run the main job on the configured (by default embedded) stack."""
    settings = get_settings()
    settings.ensure_dirs()
    engine = make_engine()
    reached = upgrade(engine)
    table = Table(title="AlphaPulse run", show_header=False)
    table.add_row("database", engine.url.render_as_string(hide_password=True))
    table.add_row("schema revision", str(reached))
    table.add_row("mlflow tracking", settings.mlflow_tracking_uri)
    table.add_row("bentoml home", str(settings.bentoml_home))
    console.print(table)
