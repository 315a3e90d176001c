"""Export flow: the MLflow champion (and challenger) into the BentoML model store, then a versioned Bento,
exported to the artifact store when one is configured, then rolled out by the deployer when one is."""

from __future__ import annotations

from prefect import flow, task, unmapped

from alphapulse.pipeline.export import BentoRelease, ExportRun, build_release, export_models, roll_out
from alphapulse.pipeline.instrument import Instrument
from alphapulse.pipeline.store import open_store
from alphapulse.rollout import Operation
from alphapulse.settings import get_settings


@task(task_run_name="export {symbol} {timeframe}")
def export_symbol(symbol: str, timeframe: str) -> str | None:
    """The champion's tag in the BentoML store, or None when the gate has not crowned one yet."""
    try:
        settings = get_settings()
        return export_models(settings, Instrument.of(settings, symbol, timeframe=timeframe))[0]
    except LookupError as missing:
        print(f"{symbol} {timeframe}: {missing}; nothing to export")
        return None


@task(task_run_name="bentoml build", timeout_seconds=1800)
def build_task(symbols: list[str], timeframe: str) -> BentoRelease:
    return build_release(get_settings(), symbols, timeframe=timeframe)


@task(task_run_name="roll out {tag}", timeout_seconds=3600)
def rollout_task(tag: str) -> Operation:
    """Ask the deployer to serve the new Bento; it fails (and alerts) when the deployer kept the old one."""
    operation = roll_out(get_settings(), tag)
    print(f"{operation.detail} ({operation.seconds_to_served} s from request to served)")
    return operation


@flow(name="export-champion", log_prints=True, timeout_seconds=6000)
def export_champion(
    symbols: list[str] | None = None, timeframe: str | None = None, build: bool = True
) -> ExportRun:
    settings = get_settings()
    open_store(settings)  # the store must exist before the service that reads it is packaged
    names = symbols or settings.symbols
    timeframe = Instrument.of(settings, timeframe=timeframe).timeframe
    exported = [future.result() for future in export_symbol.map(names, unmapped(timeframe))]
    ready = [name for name, tag in zip(names, exported, strict=True) if tag is not None]
    bento = build_task(ready, timeframe) if build and ready else None
    rollout = rollout_task(bento.tag) if bento and settings.deployer_url else None
    return ExportRun(exported=exported, bento=bento, rollout=rollout)
