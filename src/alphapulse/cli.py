"""The ``alphapulse`` command line: a thin typer layer over the library."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from alphapulse import __version__
from alphapulse.console import console, err_console, progress
from alphapulse.features import build_stored_feature_set, load_config
from alphapulse.ingest import IngestReport, ingest_bundled, ingest_csv, ingest_feed, ingest_symbol
from alphapulse.quality import stored_findings
from alphapulse.settings import get_settings
from alphapulse.sources.csv_candles import CandleCsvError, CsvSource
from alphapulse.sources.exchange import ExchangeSourceError
from alphapulse.sources.news import FeedError
from alphapulse.store import current_revision, ensure_schema, head_revision, make_engine, upgrade
from alphapulse.store.queries import count_candles, count_news, stored_symbols

app = typer.Typer(help="AlphaPulse: crypto trading signals from candles and news.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema management.", no_args_is_help=True)
ingest_app = typer.Typer(help="Bring candles and news into the store.", no_args_is_help=True)
quality_app = typer.Typer(help="Data-quality findings and quarantine.", no_args_is_help=True)
features_app = typer.Typer(help="Versioned feature sets.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(ingest_app, name="ingest")
app.add_typer(quality_app, name="quality")
app.add_typer(features_app, name="features")


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
    get_settings().ensure_dirs()
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


def _parse_since(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise typer.BadParameter(
            f"{value!r} is not an ISO date such as 2024-01-01", param_hint="--since"
        ) from error
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _report_table(reports: list[IngestReport]) -> Table:
    table = Table(title="Ingestion")
    for column in ("dataset", "received", "inserted", "updated", "unchanged", "quarantined", "warnings"):
        table.add_column(column, justify="left" if column == "dataset" else "right")
    for r in reports:
        table.add_row(
            r.dataset,
            *(f"{v:,}" for v in (r.received, r.inserted, r.updated, r.unchanged, r.quarantined, r.warnings)),
        )
    return table


@ingest_app.command("candles")
def ingest_candles(
    exchange: Annotated[str, typer.Option(help="ccxt exchange id, e.g. binance")] = "binance",
    symbol: Annotated[str, typer.Option(help="Unified symbol, e.g. BTC/USDT")] = "BTC/USDT",
    timeframe: Annotated[str, typer.Option(help="Bar timeframe, e.g. 1h")] = "1h",
    since: Annotated[str, typer.Option(help="Backfill start (ISO date, UTC)")] = "2024-01-01",
    csv: Annotated[
        Path | None, typer.Option("--csv", help="Import a CSV file instead of the exchange")
    ] = None,
) -> None:
    """Backfill or resume candles from an exchange (ccxt), or import a candle CSV file."""
    settings = get_settings()
    settings.ensure_dirs()
    engine = ensure_schema()
    try:
        if csv is not None:
            with progress() as bar:
                bar.add_task(f"importing {csv.name}", total=None)
                report = ingest_csv(
                    engine, csv, CsvSource(exchange=exchange, symbol=symbol, timeframe=timeframe)
                )
        else:
            start = _parse_since(since)
            with progress() as bar:
                task = bar.add_task(f"{exchange} {symbol} {timeframe}", total=None)
                report = ingest_symbol(
                    engine,
                    exchange,
                    symbol,
                    timeframe,
                    start,
                    on_page=lambda page: bar.advance(task, page.received),
                )
    except (CandleCsvError, ExchangeSourceError, ValueError) as error:
        err_console.print(f"[red]error:[/] {error}")
        raise typer.Exit(code=1) from error
    console.print(_report_table([report]))


@ingest_app.command("news")
def ingest_news(
    feed: Annotated[list[str], typer.Option(help="RSS/Atom URL or file; repeat for several feeds")],
) -> None:
    """Ingest RSS/Atom feeds; a malformed feed is reported and leaves stored news untouched."""
    get_settings().ensure_dirs()
    engine = ensure_schema()
    reports, failed = [], 0
    with progress() as bar:
        task = bar.add_task("feeds", total=len(feed))
        for location in feed:
            try:
                reports.append(ingest_feed(engine, location))
            except (FeedError, OSError) as error:
                failed += 1
                err_console.print(f"[red]error:[/] {error}")
            bar.advance(task)
    console.print(_report_table(reports))
    if failed:
        raise typer.Exit(code=1)


@quality_app.command("report")
def quality_report(
    dataset: Annotated[
        str, typer.Option(help="Only datasets starting with this, e.g. candles: or news:")
    ] = "",
    details: Annotated[bool, typer.Option(help="List every finding, not just the counts")] = False,
) -> None:
    """Show data-quality findings; quarantined rows are kept in the findings, never dropped."""
    findings = stored_findings(ensure_schema(), dataset_prefix=dataset)
    summary = Table(title=f"Data quality: {len(findings):,} finding(s)")
    for column in ("dataset", "check", "severity", "count", "quarantined"):
        summary.add_column(column, justify="right" if column in ("count", "quarantined") else "left")
    counts = Counter((f.dataset, f.check_name, f.severity) for f in findings)
    held = Counter((f.dataset, f.check_name, f.severity) for f in findings if f.quarantined)
    for (name, check, severity), count in sorted(counts.items()):
        summary.add_row(name, check, severity, f"{count:,}", f"{held[(name, check, severity)]:,}")
    console.print(summary)
    if details:
        listing = Table(title="Findings")
        for column in ("dataset", "check", "row", "detail"):
            listing.add_column(column, overflow="fold")
        for f in findings:
            listing.add_row(f.dataset, f.check_name, f.row_key, f.detail)
        console.print(listing)


@features_app.command("build")
def features_build(
    exchange: Annotated[str, typer.Option(help="Exchange the candles came from")] = "binance",
    symbol: Annotated[list[str] | None, typer.Option(help="Symbol(s); default: every stored one")] = None,
    timeframe: Annotated[str, typer.Option(help="Bar timeframe")] = "1h",
    config: Annotated[
        Path | None, typer.Option(help="Feature config YAML (default: the shipped one)")
    ] = None,
) -> None:
    """Build, version and materialize the feature set; prints rows, columns, warm-up and version."""
    settings = get_settings()
    settings.ensure_dirs()
    engine = ensure_schema()
    feature_config = load_config(config).model_copy(update={"timeframe": timeframe})
    symbols = symbol or stored_symbols(engine, exchange, timeframe)
    if not symbols:
        err_console.print(
            f"[red]error:[/] no {exchange} {timeframe} candles stored; run `alphapulse ingest` first"
        )
        raise typer.Exit(code=1)
    table = Table(title="Feature sets")
    for column in ("symbol", "version", "rows", "columns", "warm-up bars", "NaN rows", "trainable", "path"):
        table.add_column(column, overflow="fold")
    for name in symbols:
        try:
            report = build_stored_feature_set(
                engine, exchange=exchange, symbol=name, config=feature_config, data_dir=settings.data_dir
            )
        except ValueError as error:
            err_console.print(f"[red]error:[/] {error}")
            raise typer.Exit(code=1) from error
        table.add_row(
            name,
            report.version,
            f"{report.rows:,}",
            str(report.columns),
            str(report.warmup_bars),
            f"{report.nan_rows:,}",
            f"{report.trainable_rows:,}",
            str(report.path),
        )
    console.print(table)


@app.command()
def run() -> None:
    """Run the main job on the configured (by default embedded) stack."""
    settings = get_settings()
    settings.ensure_dirs()
    engine = ensure_schema()
    with progress() as bar:
        bar.add_task("ingesting the bundled dataset", total=None)
        reports = ingest_bundled(engine)
    console.print(_report_table(reports))
    table = Table(title="AlphaPulse run", show_header=False)
    table.add_row("database", engine.url.render_as_string(hide_password=True))
    table.add_row("candles stored", f"{count_candles(engine):,}")
    table.add_row("headlines stored", f"{count_news(engine):,}")
    table.add_row("quality findings", f"{len(stored_findings(engine)):,} (alphapulse quality report)")
    table.add_row("mlflow tracking", settings.mlflow_tracking_uri)
    table.add_row("bentoml home", str(settings.bentoml_home))
    console.print(table)
