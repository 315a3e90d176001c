"""The ``alphapulse`` commands: a thin typer layer over the use cases in ``alphapulse.pipeline``."""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, replace
from enum import StrEnum
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from sqlalchemy.exc import DBAPIError
from typer.core import TyperGroup

from alphapulse.cli import render
from alphapulse.console import configure_logging, console, err_console, print_json, progress
from alphapulse.pipeline.instrument import Instrument
from alphapulse.pipeline.store import open_store
from alphapulse.settings import Settings, SettingsError, get_settings
from alphapulse.sources.csv_candles import CandleCsvError, CsvSource
from alphapulse.sources.exchange import ExchangeSourceError
from alphapulse.sources.news import FeedError
from alphapulse.store import current_revision, head_revision, make_engine, upgrade
from alphapulse.timeframes import TIMEFRAME_EXAMPLES, parse_since, timeframe_seconds

if TYPE_CHECKING:
    from alphapulse.access import IssuedKey, KeyInfo
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


@contextmanager
def _refusing(*errors: type[Exception]) -> Iterator[None]:
    """These errors are the user's to fix (bad input, nothing to act on): one red line and exit code 1,
    no traceback."""
    try:
        yield
    except errors as error:
        err_console.print(f"[red]error:[/] {error}")
        raise typer.Exit(code=1) from error


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
keys_app = typer.Typer(
    help="API keys of the service's clients: create, list, rotate, revoke.", no_args_is_help=True
)
app.add_typer(model_app, name="model")
app.add_typer(deploy_app, name="deploy")
app.add_typer(metrics_app, name="metrics")
app.add_typer(keys_app, name="keys")


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
    settings = get_settings()
    settings.ensure_dirs()
    engine = make_engine(settings.database_url)
    reached = upgrade(engine, revision)
    console.print(
        f"database [bold]{engine.url.render_as_string(hide_password=True)}[/] at revision {reached}"
    )


@db_app.command("current")
def db_current() -> None:
    """Show the database's revision beside the code's head revision."""
    engine = make_engine()
    console.print(f"database: {current_revision(engine)}  code head: {head_revision()}")


def _checked_by(parse: Callable[[str], object], expected: str) -> Callable[[str | None], str | None]:
    """An option callback that refuses, at parse time, a value the library would refuse later."""

    def checked(value: str | None) -> str | None:
        if value is not None:
            try:
                parse(value)
            except ValueError as error:
                raise typer.BadParameter(f"{value!r}: expected {expected}") from error
        return value

    return checked


_checked_timeframe = _checked_by(
    timeframe_seconds, f"<n><s|m|h|d|w>, one of e.g. {', '.join(TIMEFRAME_EXAMPLES)}"
)
_checked_since = _checked_by(parse_since, "an ISO date such as 2024-01-01")


#: One instrument; commands that take it default to the first configured symbol.
SymbolOption = Annotated[str | None, typer.Option(help="Symbol (default: the first configured)")]


@ingest_app.command("candles")
def ingest_candles(
    exchange: Annotated[
        str | None, typer.Option(help="ccxt exchange id, e.g. binance (default: the configured one)")
    ] = None,
    symbol: SymbolOption = None,
    timeframe: Annotated[
        str | None,
        typer.Option(
            help="Bar timeframe, e.g. 1h (default: the configured one)", callback=_checked_timeframe
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            help="Backfill start (ISO date, UTC; default: the configured one)", callback=_checked_since
        ),
    ] = None,
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
    from alphapulse.pipeline import ingest

    if csv is not None and not csv.is_file():
        err_console.print(f"[red]error:[/] --csv {csv}: no such file", soft_wrap=True)
        raise typer.Exit(code=2)
    settings = get_settings()
    instrument = Instrument.of(settings, symbol, exchange=exchange, timeframe=timeframe)
    with _refusing(CandleCsvError, ExchangeSourceError, ValueError), progress() as bar:
        if csv is not None:
            bar.add_task(f"importing {csv.name}", total=None)
            source = CsvSource(
                exchange=instrument.exchange, symbol=instrument.symbol, timeframe=instrument.timeframe
            )
            report = ingest.import_candles(settings, csv, source, strict=strict, correct=correct)
        else:
            task = bar.add_task(
                f"{instrument.exchange} {instrument.symbol} {instrument.timeframe}", total=None
            )
            report = ingest.ingest_candles(
                settings, instrument, since=since, on_page=lambda page: bar.advance(task, page.received)
            )
    console.print(render.ingest_table([report]))
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
    from alphapulse.pipeline import ingest

    settings = get_settings()
    reports, failed = [], 0
    with progress() as bar:
        task = bar.add_task("feeds", total=len(feed))
        for location in feed:
            try:
                reports.append(ingest.ingest_news(settings, location))
            except (FeedError, OSError) as error:
                failed += 1
                err_console.print(f"[red]error:[/] {error}")
            bar.advance(task)
    console.print(render.ingest_table(reports))
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
    from alphapulse.pipeline.status import quality_findings

    findings = quality_findings(get_settings(), dataset_prefix=dataset)
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
    for table in render.quality_tables(findings, details=details):
        console.print(table)


@features_app.command("build")
def features_build(
    exchange: Annotated[
        str | None, typer.Option(help="Exchange the candles came from (default: the pipeline's)")
    ] = None,
    symbol: Annotated[list[str] | None, typer.Option(help="Symbol(s); default: every stored one")] = None,
    timeframe: Annotated[
        str | None,
        typer.Option(help="Bar timeframe (default: the configured one)", callback=_checked_timeframe),
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="Feature config YAML (default: the shipped one)")
    ] = None,
) -> None:
    """Build, version and materialize the feature set; training, monitoring and serving then use its config.

    Prints rows, columns, warm-up and version per symbol."""
    from alphapulse.pipeline.features import build_features
    from alphapulse.pipeline.status import stored_symbols

    settings = get_settings()
    market = Instrument.of(settings, exchange=exchange, timeframe=timeframe)
    symbols = symbol or stored_symbols(settings, market)
    if not symbols:
        err_console.print(
            f"[red]error:[/] no {market.exchange} {market.timeframe} candles stored; "
            "run `alphapulse ingest` first"
        )
        raise typer.Exit(code=1)
    with _refusing(ValueError):
        reports = [
            build_features(settings, replace(market, symbol=name), config_path=config) for name in symbols
        ]
    console.print(render.feature_sets_table(reports))


@app.command()
def monitor(
    symbol: Annotated[list[str] | None, typer.Option(help="Symbol(s); default: the configured ones")] = None,
) -> None:
    """Check feature drift (Evidently) and live outcomes; asks for retraining (Prefect events, throttled)."""
    from alphapulse.pipeline.monitor import monitor_instrument  # Evidently/MLflow load slowly

    settings = get_settings()
    results = []
    for name in symbol or settings.symbols:
        try:
            result = monitor_instrument(settings, Instrument.of(settings, name))
        except ValueError as error:
            err_console.print(f"[red]error:[/] {name}: {error}")
            raise typer.Exit(code=1) from error
        for line in render.monitoring_notes(result):
            console.print(line)
        results.append(result)
    console.print(render.monitoring_table(results))


def _training_summary(report: TrainingReport, *, cached: bool = False) -> dict[str, Any]:
    """What --json prints for a training: the gate's decision on its window, and every row's figures."""
    from alphapulse.training.evaluation import summary_frame

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
            "checks": [asdict(check) for check in decision.checks],
        },
        "evaluations": {str(name): row.to_dict() for name, row in frame.iterrows()},
    }


def _training_tables(reports: list[TrainingReport], *, cached: bool = False) -> None:
    for report in reports:
        for renderable in render.training_report(report, cached=cached):
            console.print(renderable)


@app.command()
def train(
    profile: Annotated[
        ProfileChoice, typer.Option(help="fast (development) or full (all folds, more trees)")
    ] = ProfileChoice.fast,
    symbol: Annotated[list[str] | None, typer.Option(help="Symbol(s); default: the configured ones")] = None,
    as_json: JsonOption = False,
) -> None:
    """Train every model family, evaluate walk-forward beside baselines, log to MLflow, run the gate."""
    from alphapulse.pipeline.train import train as train_symbol

    settings = get_settings()
    reports = []
    with _json_output(as_json):
        for name in symbol or settings.symbols:
            with progress() as bar:
                bar.add_task(f"training {name} ({profile.value})", total=None)
                with _refusing(ValueError):
                    reports.append(
                        train_symbol(settings, Instrument.of(settings, name), profile=profile.value)
                    )
        _training_tables(reports)
    if as_json:
        print_json([_training_summary(report) for report in reports])


@model_app.command("list")
def model_list(symbol: SymbolOption = None, as_json: JsonOption = False) -> None:
    """Registered versions with their aliases, data windows and gate decisions."""
    from alphapulse.pipeline.models import list_versions, registered_name

    settings = get_settings()
    instrument = Instrument.of(settings, symbol)
    infos = list_versions(settings, instrument)
    name = registered_name(instrument)
    if as_json:
        print_json(
            {"registered_model": name, "tracking_uri": settings.mlflow_tracking_uri, "versions": infos}
        )
        return
    if not infos:
        console.print(f"{name}: no registered versions yet (run `alphapulse train`)")
        return
    console.print(render.versions_table(name, infos))


@model_app.command("promote")
def model_promote(
    symbol: SymbolOption = None,
    version: Annotated[str | None, typer.Option(help="Version to promote; default: the challenger")] = None,
) -> None:
    """Make a version the champion by hand (overrides the gate; the previous champion can be restored)."""
    from alphapulse.pipeline.models import promote

    settings = get_settings()
    with _refusing(LookupError):
        change = promote(settings, Instrument.of(settings, symbol), version)
    console.print(change.message)


@model_app.command("rollback")
def model_rollback(symbol: SymbolOption = None) -> None:
    """Restore the previous champion in one step."""
    from alphapulse.pipeline.models import rollback

    settings = get_settings()
    with _refusing(LookupError):
        change = rollback(settings, Instrument.of(settings, symbol))
    console.print(change.message)


@model_app.command("export")
def model_export(
    symbol: SymbolOption = None,
    challenger: Annotated[bool, typer.Option("--challenger", help="Export the challenger instead")] = False,
) -> None:
    """Copy the MLflow champion (or challenger) into the BentoML model store, labelled with its lineage."""
    from alphapulse.pipeline.export import export_model

    settings = get_settings()
    with _refusing(LookupError, ValueError):
        tag = export_model(
            settings, Instrument.of(settings, symbol), role="challenger" if challenger else "champion"
        )
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
    from alphapulse.pipeline.export import build_release, export_models

    settings = get_settings()
    settings.ensure_dirs()
    symbols = symbol or settings.symbols
    with _refusing(LookupError, ValueError, RuntimeError):
        if registry:
            for name in symbols:
                exported = export_models(settings, Instrument.of(settings, name))
                console.print(f"exported {', '.join(exported)}")
        release = build_release(settings, symbols, lock=lock)
    console.print(f"built {release.tag}")
    if release.exported_to is not None:
        console.print(f"exported {release.tag} to {release.exported_to}")
    if tag_file is not None:
        tag_file.write_text(release.tag + "\n", encoding="utf-8")


KeyArgument = Annotated[str, typer.Argument(help="Key id, or the name of the client's active key")]


def _issued(issued: IssuedKey, as_json: bool, title: str) -> None:
    """The token once, on stdout; the warning on stderr, so that --json stays one document."""
    if as_json:
        print_json({**_key_json(issued.info), "token": issued.token})
    else:
        console.print(render.keys_table([issued.info], title=title))
        console.print(issued.token, markup=False, highlight=False, soft_wrap=True)
    err_console.print(
        "[yellow]warning:[/] the token is shown only now and cannot be recovered: store it safely"
    )


def _key_json(info: KeyInfo) -> dict[str, Any]:
    return {"key_id": info.key_id, "name": info.name, "scopes": info.scopes, "limits": info.limits}


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="The client's name (one active key per name)")],
    scope: Annotated[
        list[str],
        typer.Option(
            help="What the key may call: signal, predict, sentiment, admin, models; repeat for several"
        ),
    ],
    limit: Annotated[
        list[str] | None,
        typer.Option(help="SCOPE=LIMITS overriding the defaults, e.g. 'predict=100/second;5000/day'; repeat"),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Issue a key for a client; its token is printed once."""
    from alphapulse.access import AccessKeyError
    from alphapulse.pipeline.keys import create_key, parse_limit_options

    with _refusing(AccessKeyError):
        issued = create_key(get_settings(), name, scope, parse_limit_options(limit or []))
    _issued(issued, as_json, "New API key")


@keys_app.command("list")
def keys_list(
    include_revoked: Annotated[bool, typer.Option("--all", help="Include revoked keys")] = False,
    as_json: JsonOption = False,
) -> None:
    """Keys with their scopes and limits (never a secret)."""
    from alphapulse.pipeline.keys import list_keys

    infos = list_keys(get_settings(), include_revoked=include_revoked)
    if as_json:
        print_json(infos)
        return
    if not infos:
        console.print("no API keys yet (run `alphapulse keys create`)")
        return
    console.print(render.keys_table(infos))


@keys_app.command("rotate")
def keys_rotate(key: KeyArgument, as_json: JsonOption = False) -> None:
    """Replace a key by a new one with the same name, scopes and limits; the old one stops working now."""
    from alphapulse.access import AccessKeyError
    from alphapulse.pipeline.keys import rotate_key

    with _refusing(AccessKeyError):
        issued = rotate_key(get_settings(), key)
    _issued(issued, as_json, "Rotated API key")


@keys_app.command("revoke")
def keys_revoke(key: KeyArgument, as_json: JsonOption = False) -> None:
    """Stop a key from working, from the next request on."""
    from alphapulse.access import AccessKeyError
    from alphapulse.pipeline.keys import revoke_key

    with _refusing(AccessKeyError):
        info = revoke_key(get_settings(), key)
    if as_json:
        print_json(info)
        return
    console.print(f"revoked {info.key_id} ({info.name})")


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
    collector = pipeline_collector(settings, open_store(settings))
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

    with _refusing(DeployerError, OSError):
        client = DeployerClient.from_settings(get_settings())
        if action == "status":
            console.print_json(client.status().model_dump_json())
            return
        operation = client.rollout(tag or "") if action == "rollout" else client.rollback(tag)
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
    with _json_output(as_json):
        console.print(render.settings_table(settings))
        try:
            local_api = start_local_api(settings)
        except LocalApiError as error:
            err_console.print(f"[red]error:[/] {error}", soft_wrap=True)
            raise typer.Exit(code=1) from error
        if local_api is not None:
            console.print(f"Prefect local API {local_api.url} started in {local_api.startup_seconds:.1f} s")
        result = pipeline(profile=profile.value)
        summary = _run_summary(settings, result)
    if as_json:
        print_json(
            {
                **summary,
                "prefect_api_startup_seconds": local_api.startup_seconds if local_api else None,
                "candles": [asdict(report) for report in result.candles],
                "news": [asdict(report) for report in result.news],
                "features": [{**asdict(f), "path": str(f.path)} for f in result.features],
                "training": [_training_summary(t.report, cached=t.cached) for t in result.training],
                "export": {
                    "exported": result.export.exported,
                    "bento": asdict(result.export.bento) if result.export.bento else None,
                    "rollout": result.export.rollout.model_dump(mode="json")
                    if result.export.rollout
                    else None,
                },
                "monitoring": result.monitoring.summary(),
            }
        )


def _run_summary(settings: Settings, result: PipelineResult) -> dict[str, Any]:
    """Print the run's tables; returns the summary figures that --json carries."""
    from alphapulse.pipeline.status import store_summary

    store = store_summary(settings)
    console.print(render.ingest_table([*result.candles, *result.news]))
    console.print(render.feature_sets_table(result.features))
    for trained in result.training:
        _training_tables([trained.report], cached=trained.cached)
    console.print(render.run_table(settings, result, store))
    return {
        "home": str(settings.home.resolve()),
        "database": store.database,
        "tracking_uri": settings.mlflow_tracking_uri,
        "candles_stored": store.candles,
        "headlines_stored": store.headlines,
        "quality_findings": store.quality_findings,
        "freshness": store.freshness,
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

    with _refusing(ValueError):
        options = ReplayOptions.parse(
            csv=csv or [],
            start=start,
            speed=speed,
            origin=origin,
            shift_to_now=shift_to_now,
            fault=fault or [],
        )
        market = build_market(options)
    for line in describe(market):
        console.print(line)
    try:
        serve(market, FaultPlan(dict(options.faults)), host=host, port=port, announce=console.print)
    except OSError as error:
        err_console.print(f"[red]error:[/] cannot listen on {host}:{port}: {error.strerror or error}")
        raise typer.Exit(code=1) from error
