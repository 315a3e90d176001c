"""The ``alphapulse`` command line: a thin typer layer over the library."""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from enum import StrEnum
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from sqlalchemy.exc import DBAPIError
from typer.core import TyperGroup

from alphapulse.console import configure_logging, console, err_console, print_json, progress
from alphapulse.ingest import IngestReport, ingest_csv, ingest_feed, ingest_symbol
from alphapulse.quality import stored_findings
from alphapulse.settings import Settings, SettingsError, get_settings
from alphapulse.sources.bundled import pipeline_exchange
from alphapulse.sources.csv_candles import CandleCsvError, CsvSource
from alphapulse.sources.exchange import ExchangeSourceError
from alphapulse.sources.news import FeedError
from alphapulse.store import current_revision, ensure_schema, head_revision, make_engine, upgrade
from alphapulse.store.queries import count_candles, count_news, latest_candle, stored_symbols
from alphapulse.timeframes import TIMEFRAME_EXAMPLES, timeframe_seconds

if TYPE_CHECKING:
    from alphapulse.monitoring.drift import MissingColumn
    from alphapulse.training.train import TrainingReport
    from flows.pipeline import PipelineResult


class ProfileChoice(StrEnum):
    """Training profiles (alphapulse.training.config.Profile) as a closed choice of the command line."""

    fast = "fast"
    full = "full"


def _where(settings: Settings) -> str:
    return "; ".join(f"{name} {value}" for name, value in settings.describe())


class _Commands(TyperGroup):
    """Settings, database and MLflow errors of any command end in one line (exit code 2 or 1), no
    traceback. Database and MLflow errors name the (password-masked) URL and the home, since they are most
    often a wrong setting or a home other than the one meant."""

    def invoke(self, ctx: Any) -> Any:  # typer's vendored click Context
        try:
            return super().invoke(ctx)
        except SettingsError as error:
            err_console.print(f"[red]error:[/] {error}", soft_wrap=True)
            raise typer.Exit(code=2) from None
        except DBAPIError as error:
            settings = get_settings()
            reason = str(error.orig or error).strip().splitlines()[0]
            err_console.print(
                f"[red]error:[/] database {settings.database_display()} (ALPHAPULSE_DATABASE_URL): {reason}; "
                f"home {settings.home.resolve()}",
                soft_wrap=True,
            )
            raise typer.Exit(code=1) from None
        except Exception as error:
            tracking = sys.modules.get("mlflow.exceptions")  # loaded only by the commands that use MLflow
            if tracking is None or not isinstance(error, tracking.MlflowException):
                raise
            settings = get_settings()
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            err_console.print(
                f"[red]error:[/] MLflow {settings.mlflow_tracking_uri} (ALPHAPULSE_MLFLOW_TRACKING_URI): "
                f"{reason}; home {settings.home.resolve()}",
                soft_wrap=True,
            )
            raise typer.Exit(code=1) from None


def _version_text() -> str:
    try:
        return package_version("alphapulse")
    except PackageNotFoundError:  # running from a source tree that was never installed
        from alphapulse import __version__

        return __version__


def _print_version(requested: bool) -> None:
    if requested:
        console.print(f"alphapulse {_version_text()}")
        raise typer.Exit()


@contextmanager
def _json_output(enabled: bool) -> Iterator[None]:
    """With --json, stdout carries only the JSON document: tables and notes are silenced meanwhile."""
    previous = console.quiet
    console.quiet = previous or enabled
    try:
        yield
    finally:
        console.quiet = previous


JsonOption = Annotated[
    bool, typer.Option("--json", help="Print the result as one JSON document on stdout (docs/CLI.md)")
]

# Heavy libraries (MLflow, BentoML, pandas-ta, Evidently, Prefect) are imported inside the commands that
# use them, so `alphapulse --help` and the light commands start quickly.
app = typer.Typer(
    help="AlphaPulse: crypto trading signals from candles and news.", no_args_is_help=True, cls=_Commands
)
db_app = typer.Typer(help="Database schema management.", no_args_is_help=True)
ingest_app = typer.Typer(help="Bring candles and news into the store.", no_args_is_help=True)
quality_app = typer.Typer(help="Data-quality findings and quarantine.", no_args_is_help=True)
features_app = typer.Typer(help="Versioned feature sets.", no_args_is_help=True)
model_app = typer.Typer(help="Registered models: list, promote, rollback.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(ingest_app, name="ingest")
app.add_typer(quality_app, name="quality")
app.add_typer(features_app, name="features")
deploy_app = typer.Typer(
    help="Blue-green rollout of the Bento behind Caddy: the deployer and its client.", no_args_is_help=True
)
metrics_app = typer.Typer(help="The pipeline's state as Prometheus metrics.", no_args_is_help=True)
app.add_typer(model_app, name="model")
app.add_typer(deploy_app, name="deploy")
app.add_typer(metrics_app, name="metrics")


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the installed version and exit"
        ),
    ] = False,
) -> None:
    """AlphaPulse command line."""
    settings = get_settings()
    configure_logging(settings.log_level)
    settings.apply_tool_environment()


@app.command()
def version() -> None:
    """Print the installed AlphaPulse version."""
    console.print(_version_text())


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


def _checked_timeframe(value: str) -> str:
    try:
        timeframe_seconds(value)
    except ValueError as error:
        raise typer.BadParameter(
            f"{value!r}: expected <n><s|m|h|d|w>, one of e.g. {', '.join(TIMEFRAME_EXAMPLES)}"
        ) from error
    return value


def _parse_since(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise typer.BadParameter(
            f"{value!r} is not an ISO date such as 2024-01-01", param_hint="--since"
        ) from error
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


_REPORT_COLUMNS = (
    "received",
    "inserted",
    "updated",
    "unchanged",
    "quarantined",
    "conflicts",
    "corrected",
    "warnings",
)


def _report_table(reports: list[IngestReport]) -> Table:
    table = Table(title="Ingestion")
    table.add_column("dataset")
    for column in _REPORT_COLUMNS:
        table.add_column(column, justify="right")
    for r in reports:
        table.add_row(r.dataset, *(f"{getattr(r, column):,}" for column in _REPORT_COLUMNS))
    return table


@ingest_app.command("candles")
def ingest_candles(
    exchange: Annotated[str, typer.Option(help="ccxt exchange id, e.g. binance")] = "binance",
    symbol: Annotated[str, typer.Option(help="Unified symbol, e.g. BTC/USDT")] = "BTC/USDT",
    timeframe: Annotated[
        str, typer.Option(help="Bar timeframe, e.g. 1h", callback=_checked_timeframe)
    ] = "1h",
    since: Annotated[str, typer.Option(help="Backfill start (ISO date, UTC)")] = "2024-01-01",
    csv: Annotated[
        Path | None, typer.Option("--csv", help="Import a CSV file instead of the exchange")
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(
            help="CSV: abort on the first unreadable row (nothing stored) instead of quarantining it"
        ),
    ] = False,
    correct: Annotated[
        bool,
        typer.Option(
            help="CSV: replace stored bars that differ from the file (old values go to candle_corrections)"
        ),
    ] = False,
) -> None:
    """Backfill or resume candles from an exchange (ccxt), or import a candle CSV file.

    A bar already stored with other values is never replaced silently: it is quarantined as a conflict
    (see `alphapulse quality report`) unless --correct is given.
    """
    if csv is not None and not csv.is_file():
        err_console.print(f"[red]error:[/] --csv {csv}: no such file", soft_wrap=True)
        raise typer.Exit(code=2)
    settings = get_settings()
    settings.ensure_dirs()
    engine = ensure_schema()
    try:
        if csv is not None:
            with progress() as bar:
                bar.add_task(f"importing {csv.name}", total=None)
                report = ingest_csv(
                    engine,
                    csv,
                    CsvSource(exchange=exchange, symbol=symbol, timeframe=timeframe),
                    strict=strict,
                    correct=correct,
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
    if report.conflicts:
        console.print(
            f"{report.conflicts:,} bar(s) differ from the stored ones and were quarantined, stored bars kept "
            "(alphapulse quality report); re-run with --correct to apply them"
        )
    if report.corrected:
        console.print(f"{report.corrected:,} stored bar(s) corrected; old values kept in candle_corrections")


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
    as_json: JsonOption = False,
) -> None:
    """Show data-quality findings; quarantined rows are kept in the findings, never dropped."""
    findings = stored_findings(ensure_schema(), dataset_prefix=dataset)
    if as_json:
        counts_json = Counter((f.dataset, f.check_name, f.severity, f.quarantined) for f in findings)
        print_json(
            {
                "findings": len(findings),
                "summary": [
                    {"dataset": d, "check": c, "severity": v, "quarantined": q, "count": n}
                    for (d, c, v, q), n in sorted(counts_json.items())
                ],
                **({"details": [f.model_dump() for f in findings]} if details else {}),
            }
        )
        return
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
    timeframe: Annotated[str, typer.Option(help="Bar timeframe", callback=_checked_timeframe)] = "1h",
    config: Annotated[
        Path | None, typer.Option(help="Feature config YAML (default: the shipped one)")
    ] = None,
) -> None:
    """Build, version and materialize the feature set; prints rows, columns, warm-up and version."""
    from alphapulse.features import build_stored_feature_set, load_config

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
def monitor(
    symbol: Annotated[list[str] | None, typer.Option(help="Symbol(s); default: the configured ones")] = None,
) -> None:
    """Check feature drift (Evidently) and live outcomes; asks for retraining (Prefect events, throttled)."""
    from alphapulse.monitoring.checks import monitor_symbol  # Evidently/MLflow load slowly

    settings = get_settings()
    settings.ensure_dirs()
    engine = ensure_schema()
    exchange = pipeline_exchange(settings)
    table = Table(title="Monitoring")
    columns = ("symbol", "drift share", "threshold", "drift", "drifted", "missing data", "retrain", "report")
    for column in columns:
        table.add_column(column, overflow="fold")
    for name in symbol or settings.symbols:
        try:
            result = monitor_symbol(
                engine, exchange=exchange, symbol=name, timeframe=settings.timeframe, settings=settings
            )
        except ValueError as error:
            err_console.print(f"[red]error:[/] {name}: {error}")
            raise typer.Exit(code=1) from error
        report = result.drift
        table.add_row(
            name,
            f"{report.drift_share:.2f}",
            f"{report.threshold:.2f}",
            "[red]DETECTED[/]" if report.detected else "none",
            f"{len(report.drifted_columns)} of {report.compared} compared features",
            f"{len(report.missing)} features",
            result.retrain.state,
            str(report.html_path),
        )
        console.print(f"{name}: reference: {report.reference_source}")
        console.print(f"{name}: drift: {report.reason}")
        if report.missing:
            console.print(f"{name}: missing data (not drift): {_missing_text(report.missing)}")
        console.print(f"{name}: {result.retrain.message}")
        for outcome in result.outcomes.summaries:
            console.print(
                f"{name} model {outcome.model_version} ({outcome.role}): {outcome.resolved}/{outcome.bars} "
                f"bars resolved ({outcome.requests:,} requests), live accuracy {outcome.accuracy:.3f}"
            )
    console.print(table)


def _missing_text(missing: Sequence[MissingColumn]) -> str:
    """Missing-data columns grouped by the window lacking them, e.g. "12 in current: news_count, ..."."""
    sides: dict[str, list[str]] = {}
    for item in missing:
        sides.setdefault(item.missing_in, []).append(item.column)
    return "; ".join(f"{len(cols)} in {side}: {', '.join(cols)}" for side, cols in sides.items()) or "none"


def _training_summary(report: TrainingReport, *, cached: bool = False) -> dict[str, Any]:
    """What --json prints for a training: the gate's decision on its window, and every row's figures."""
    from alphapulse.training.table import summary_frame

    decision = report.decision
    frame = summary_frame(report.evaluations)
    return {
        "registered_model": report.registered_model,
        "symbol": report.symbol,
        "timeframe": report.timeframe,
        "profile": report.profile,
        "cached": cached,
        "feature_version": report.feature_version,
        "data_start": report.data_start,
        "data_end": report.data_end,
        "rows": report.rows,
        "challenger": report.challenger,
        "version": report.version,
        "champion": report.champion,
        "run_id": report.run_id,
        "gate": {
            "promote": decision.promote,
            "window": {"start": decision.window[0], "end": decision.window[1]},
            "reasons": list(decision.reasons),
            "duels": [asdict(duel) for duel in decision.duels],
        },
        "evaluations": {str(name): row.to_dict() for name, row in frame.iterrows()},
    }


def _training_tables(reports: list[TrainingReport], *, cached: bool = False) -> None:
    from alphapulse.training import results_table

    for report in reports:
        if cached:
            console.print(
                f"[yellow]{report.registered_model}: no new data since the last training; "
                f"its result is reused (nothing retrained, nothing promoted now)[/]"
            )
        console.print(
            results_table(
                f"{report.registered_model}: out-of-sample walk-forward ({report.profile}), "
                f"{report.rows:,} bars {report.data_start[:10]} .. {report.data_end[:10]}, net of fees",
                report.evaluations,
                report.decision,
                challenger=report.challenger,
            )
        )
        verdict = "[bold green]PROMOTED[/]" if report.decision.promote else "[yellow]not promoted[/]"
        start, end = report.decision.window
        console.print(
            f"gate, on the latest walk-forward window only ({start[:16]} .. {end[:16]}): challenger "
            f"{report.challenger} (version {report.version}) {verdict}; "
            f"champion is {'version ' + report.champion if report.champion else 'none'}"
        )
        for reason in report.decision.reasons:
            console.print(f"  - {reason}")


@app.command()
def train(
    profile: Annotated[
        ProfileChoice, typer.Option(help="fast (development) or full (all folds, more trees)")
    ] = ProfileChoice.fast,
    symbol: Annotated[list[str] | None, typer.Option(help="Symbol(s); default: the configured ones")] = None,
    as_json: JsonOption = False,
) -> None:
    """Train every model family, evaluate walk-forward beside baselines, log to MLflow, run the gate."""
    from alphapulse.training.from_store import train_from_store

    settings = get_settings()
    settings.ensure_dirs()
    engine = ensure_schema()
    reports = []
    with _json_output(as_json):
        for name in symbol or settings.symbols:
            with progress() as bar:
                bar.add_task(f"training {name} ({profile.value})", total=None)
                try:
                    reports.append(
                        train_from_store(
                            engine,
                            exchange=pipeline_exchange(settings),
                            symbol=name,
                            timeframe=settings.timeframe,
                            profile="full" if profile is ProfileChoice.full else "fast",
                            settings=settings,
                        )
                    )
                except ValueError as error:
                    err_console.print(f"[red]error:[/] {error}")
                    raise typer.Exit(code=1) from error
        _training_tables(reports)
    if as_json:
        print_json([_training_summary(report) for report in reports])


@model_app.command("list")
def model_list(
    symbol: Annotated[str, typer.Option(help="Symbol")] = "BTC/USDT", as_json: JsonOption = False
) -> None:
    """Registered versions with their aliases, data windows and gate decisions."""
    from alphapulse.training import list_versions, registered_name, versions_table

    settings = get_settings()
    infos = list_versions(symbol, settings.timeframe, settings=settings)
    name = registered_name(symbol, settings.timeframe)
    if as_json:
        print_json(
            {"registered_model": name, "tracking_uri": settings.mlflow_tracking_uri, "versions": infos}
        )
        return
    if not infos:
        console.print(f"{name}: no registered versions yet (run `alphapulse train`)")
        return
    console.print(versions_table(name, infos))


@model_app.command("promote")
def model_promote(
    symbol: Annotated[str, typer.Option(help="Symbol")] = "BTC/USDT",
    version: Annotated[str | None, typer.Option(help="Version to promote; default: the challenger")] = None,
) -> None:
    """Make a version the champion by hand (overrides the gate; the previous champion can be restored)."""
    from alphapulse.training import promote

    settings = get_settings()
    try:
        change = promote(symbol, settings.timeframe, version=version, settings=settings)
    except LookupError as error:
        err_console.print(f"[red]error:[/] {error}")
        raise typer.Exit(code=1) from error
    console.print(change.message)


@model_app.command("rollback")
def model_rollback(symbol: Annotated[str, typer.Option(help="Symbol")] = "BTC/USDT") -> None:
    """Restore the previous champion in one step."""
    from alphapulse.training import rollback

    settings = get_settings()
    try:
        change = rollback(symbol, settings.timeframe, settings=settings)
    except LookupError as error:
        err_console.print(f"[red]error:[/] {error}")
        raise typer.Exit(code=1) from error
    console.print(change.message)


@model_app.command("export")
def model_export(
    symbol: Annotated[str, typer.Option(help="Symbol")] = "BTC/USDT",
    challenger: Annotated[bool, typer.Option("--challenger", help="Export the challenger instead")] = False,
) -> None:
    """Copy the MLflow champion (or challenger) into the BentoML model store, labelled with its lineage."""
    from alphapulse.serving import export_model

    settings = get_settings()
    try:
        tag = export_model(
            symbol, settings.timeframe, role="challenger" if challenger else "champion", settings=settings
        )
    except (LookupError, ValueError) as error:
        err_console.print(f"[red]error:[/] {error}")
        raise typer.Exit(code=1) from error
    console.print(f"exported {tag} into {settings.bentoml_home}")


@model_app.command("bento")
def model_bento(
    symbol: Annotated[list[str] | None, typer.Option(help="Symbol(s); default: the configured ones")] = None,
    lock: Annotated[
        Path | None,
        typer.Option(help="Pin the Bento's packages from this lock (default: this environment's versions)"),
    ] = None,
    registry: Annotated[
        bool,
        typer.Option(help="Export the registry's champion (and challenger) into the BentoML store first"),
    ] = True,
    tag_file: Annotated[Path | None, typer.Option(help="Also write the built tag into this file")] = None,
) -> None:
    """Build the versioned Bento of the service and the champions (the release path; docs/DEPLOY.md)."""
    from alphapulse.serving import build_bento, export_models, publish_bento

    settings = get_settings()
    settings.ensure_dirs()
    symbols = symbol or settings.symbols
    try:
        if registry:
            for name in symbols:
                console.print(
                    f"exported {', '.join(export_models(name, settings.timeframe, settings=settings))}"
                )
        tag = build_bento(symbols, settings.timeframe, settings=settings, lock=lock)
    except (LookupError, ValueError, RuntimeError) as error:
        err_console.print(f"[red]error:[/] {error}")
        raise typer.Exit(code=1) from error
    console.print(f"built {tag}")
    exported = publish_bento(tag, settings=settings)
    if exported is not None:
        console.print(f"exported {tag} to {exported}")
    if tag_file is not None:
        tag_file.write_text(tag + "\n", encoding="utf-8")


@deploy_app.command("serve")
def deploy_serve(
    # In its container: the backend network's callers reach it (compose publishes no port).
    host: Annotated[str, typer.Option(help="Interface to bind")] = "0.0.0.0",  # noqa: S104
    port: Annotated[int, typer.Option(help="Port")] = 8700,
) -> None:
    """Run the deployer: serve what its state names (or the initial image), then its API (docs/DEPLOY.md)."""
    import logging

    import uvicorn

    from alphapulse.rollout import Deployer, RolloutError
    from alphapulse.rollout.api import create_app
    from alphapulse.rollout.engine import EngineError

    settings = get_settings()
    if settings.deployer_token is None:
        err_console.print("[red]error:[/] deployer_token: set ALPHAPULSE_DEPLOYER_TOKEN (callers send it)")
        raise typer.Exit(code=2)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per Engine API call otherwise
    deployer = Deployer(settings)
    try:
        deployer.start()
    except EngineError as error:
        err_console.print(f"[red]error:[/] {error}")
        raise typer.Exit(code=1) from error
    except RolloutError as error:  # a fresh server whose initial image does not serve: keep the API up
        err_console.print(f"[yellow]initial rollout failed:[/] {error}")
    app_ = create_app(deployer, settings.deployer_token.get_secret_value())
    # Callers poll /status every second: no access log, the operations log themselves.
    uvicorn.run(app_, host=host, port=port, log_level=settings.log_level.lower(), access_log=False)


@metrics_app.command("serve")
def metrics_serve(
    # In its container: Prometheus on the backend network scrapes it (compose publishes no port).
    host: Annotated[str, typer.Option(help="Interface to bind")] = "0.0.0.0",  # noqa: S104
    port: Annotated[int, typer.Option(help="Port")] = 9108,
) -> None:
    """Serve /metrics: bars, quarantine, live outcomes, drift verdicts, deployments' last runs (re-read
    from the store, MLflow and Prefect every 15 s in the background; deploy/observability reads them)."""
    import signal
    import threading

    from prometheus_client import CollectorRegistry, start_http_server

    from alphapulse.monitoring.exporter import pipeline_collector

    settings = get_settings()
    configure_logging(settings.log_level)
    registry = CollectorRegistry()
    collector = pipeline_collector(settings, ensure_schema())
    stopped = threading.Event()
    collector.refresh_in_background(stopped)
    registry.register(collector)
    server, _thread = start_http_server(port, addr=host, registry=registry)
    console.print(f"metrics on http://{host}:{port}/metrics")
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    stopped.wait()
    server.shutdown()


def _deployer_call(action: str, tag: str | None) -> None:
    from alphapulse.rollout import DeployerClient, DeployerError

    try:
        client = DeployerClient.from_settings(get_settings())
        if action == "status":
            console.print_json(client.status().model_dump_json())
            return
        operation = client.rollout(tag or "") if action == "rollout" else client.rollback(tag)
    except (DeployerError, OSError) as error:
        err_console.print(f"[red]error:[/] {error}")
        raise typer.Exit(code=1) from error
    console.print(f"{operation.kind}: {operation.detail} ({operation.seconds_to_served} s to served)")


@deploy_app.command("rollout")
def deploy_rollout(
    tag: Annotated[str, typer.Argument(help="Bento tag (alphapulse:<version>) or version")],
) -> None:
    """Ask the deployer to serve this Bento version; waits for the outcome."""
    _deployer_call("rollout", tag)


@deploy_app.command("rollback")
def deploy_rollback(
    tag: Annotated[str | None, typer.Argument(help="Bento tag or version; default: the previous one")] = None,
) -> None:
    """Ask the deployer to serve an earlier Bento version (default: the one before the current)."""
    _deployer_call("rollback", tag)


@deploy_app.command("status")
def deploy_status() -> None:
    """What the deployer serves, what served before, and how the last operation ended."""
    _deployer_call("status", None)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 3000,
) -> None:
    """Run the BentoML service (`bentoml serve`) on the configured stack; see docs/SERVING.md."""
    from alphapulse.serving import serve_command

    command = serve_command(host, port)
    console.file.flush()
    # Replaced by the server (same PID, the tool environment inherited): stopping this PID stops the
    # server and its workers, and nothing of ours is left waiting in between.
    os.execv(command[0], command)  # noqa: S606 (the server's own argv, no shell)


@app.command()
def run(
    profile: Annotated[ProfileChoice, typer.Option(help="Training profile")] = ProfileChoice.fast,
    as_json: JsonOption = False,
) -> None:
    """The main job: the Prefect `pipeline` flow (ingest, features, train, gate, drift), then a summary."""
    from flows.local_api import LocalApiError, start_local_api
    from flows.pipeline import pipeline  # Prefect loads on demand: the other commands stay quick

    settings = get_settings()
    settings.ensure_dirs()
    where = Table(title="AlphaPulse state", show_header=False)
    for name, value in settings.describe():
        where.add_row(name, value)
    with _json_output(as_json):
        console.print(where)
        try:
            local_api = start_local_api(settings)
        except LocalApiError as error:
            err_console.print(f"[red]error:[/] {error}", soft_wrap=True)
            raise typer.Exit(code=1) from error
        if local_api is not None:
            console.print(f"Prefect local API {local_api.url} started in {local_api.startup_seconds:.1f} s")
        result = pipeline(profile="full" if profile is ProfileChoice.full else "fast")
        summary = _run_summary(settings, result)
    if as_json:
        print_json(
            {
                **summary,
                "prefect_api_startup_seconds": local_api.startup_seconds if local_api else None,
                "candles": result.candles,
                "news": result.news,
                "features": result.features,
                "training": [_training_summary(t.report, cached=t.cached) for t in result.training],
                "export": result.export,
                "monitoring": result.monitoring,
            }
        )


def _run_summary(settings: Settings, result: PipelineResult) -> dict[str, Any]:
    """Print the run's tables; returns the summary figures that --json carries."""
    from alphapulse.serving.freshness import freshness_note

    engine = ensure_schema()
    console.print(_report_table([IngestReport(**r) for r in [*result.candles, *result.news]]))
    features = Table(title="Feature sets")
    for column in ("symbol", "version", "rows", "columns", "warm-up bars", "trainable rows", "file"):
        features.add_column(column, overflow="fold")
    for f in result.features:
        features.add_row(
            f["symbol"],
            f["version"],
            f"{f['rows']:,}",
            str(f["columns"]),
            str(f["warmup_bars"]),
            f"{f['trainable_rows']:,}",
            f["path"],
        )
    console.print(features)
    for trained in result.training:
        _training_tables([trained.report], cached=trained.cached)
    summary = Table(title="AlphaPulse run", show_header=False)
    summary.add_row("database", engine.url.render_as_string(hide_password=True))
    summary.add_row("candles / headlines stored", f"{count_candles(engine):,} / {count_news(engine):,}")
    summary.add_row("quality findings", f"{len(stored_findings(engine)):,} (alphapulse quality report)")
    for drift in result.monitoring["drift"]:
        state = "DETECTED" if drift["detected"] else "none"
        missing = len(drift["missing_columns"])
        summary.add_row(
            f"drift {drift['symbol']}",
            f"{drift['drift_share']:.2f} ({state}; {drift['compared']} features compared, "
            f"{missing} missing data): {drift['html']}",
        )
    for retrain in result.monitoring["retrain"]:
        summary.add_row(f"retrain {retrain['symbol']}", retrain["message"])
    summary.add_row(
        "MLflow",
        f"{settings.mlflow_tracking_uri} (mlflow ui --backend-store-uri {settings.mlflow_tracking_uri})",
    )
    summary.add_row("models", "alphapulse model list")
    summary.add_row("home", str(settings.home.resolve()))
    exported = [tag for tag in result.export["exported"] if tag]
    summary.add_row(
        "serving",
        f"exported {', '.join(exported)}; serve with: alphapulse serve"
        if exported
        else "no champion yet (the gate refused), so nothing to serve; see the reasons above",
    )
    freshness = {}
    for symbol in settings.symbols:
        latest = latest_candle(engine, pipeline_exchange(settings), symbol, settings.timeframe)
        freshness[symbol] = freshness_note(
            latest["open_time"] if latest else None,
            settings.timeframe,
            datetime.now(UTC),
            settings.serving_max_age_bars,
        )
        summary.add_row(f"freshness {symbol}", freshness[symbol])
    console.print(summary)
    return {
        "home": str(settings.home.resolve()),
        "database": settings.database_display(),
        "tracking_uri": settings.mlflow_tracking_uri,
        "candles_stored": count_candles(engine),
        "headlines_stored": count_news(engine),
        "quality_findings": len(stored_findings(engine)),
        "freshness": freshness,
    }


@app.command("replay-exchange")
def replay_exchange(
    host: Annotated[str, typer.Option(help="Interface to bind (0.0.0.0 in a container)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0: any free port)")] = 8710,
    csv: Annotated[list[str] | None, typer.Option(help="SYMBOL=FILE to replay; repeat for several")] = None,
    start: Annotated[
        str | None, typer.Option(help="Recorded time to begin at (ISO, UTC); default: 7 days before the end")
    ] = None,
    speed: Annotated[float, typer.Option(min=0, help="Market seconds per wall second (0: frozen)")] = 1.0,
    shift_to_now: Annotated[
        bool, typer.Option(help="Move the recorded history so that --start is now (timestamps look current)")
    ] = False,
    origin: Annotated[
        str | None,
        typer.Option(help="Wall time (ISO) at which the clock reads --start; repeat it on a restart"),
    ] = None,
    fault: Annotated[
        list[str] | None,
        typer.Option(help="N=KIND: fail the N-th klines request (429, 500, hang, truncate, reset)"),
    ] = None,
) -> None:
    """Serve recorded candles through Binance's REST API on a simulated clock (docs/REPLAY.md)."""
    from alphapulse.replay import FaultPlan, ReplayOptions, build_market, describe, serve

    try:
        options = ReplayOptions.parse(
            csv=csv or [],
            start=start,
            speed=speed,
            origin=origin,
            shift_to_now=shift_to_now,
            fault=fault or [],
        )
        market = build_market(options)
    except ValueError as error:
        err_console.print(f"[red]error:[/] {error}")
        raise typer.Exit(code=1) from error
    for line in describe(market):
        console.print(line)
    try:
        serve(market, FaultPlan(dict(options.faults)), host=host, port=port, announce=console.print)
    except OSError as error:
        err_console.print(f"[red]error:[/] cannot listen on {host}:{port}: {error.strerror or error}")
        raise typer.Exit(code=1) from error
