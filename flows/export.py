"""Export flow: the MLflow champion (and challenger) into the BentoML model store, then a versioned Bento,
exported to the artifact store when one is configured, then rolled out by the deployer when one is."""

from __future__ import annotations

from typing import Any

from prefect import flow, task, unmapped

from alphapulse.rollout import DeployerClient
from alphapulse.serving import build_bento, export_models, publish_bento
from alphapulse.settings import get_settings
from flows.common import engine


@task(task_run_name="export {symbol} {timeframe}")
def export_symbol(symbol: str, timeframe: str) -> str | None:
    """The champion's tag in the BentoML store, or None when the gate has not crowned one yet."""
    try:
        return export_models(symbol, timeframe, settings=get_settings())[0]
    except LookupError as missing:
        print(f"{symbol} {timeframe}: {missing}; nothing to export")
        return None


@task(task_run_name="bentoml build", timeout_seconds=1800)
def build_task(symbols: list[str], timeframe: str) -> dict[str, str | None]:
    settings = get_settings()
    tag = build_bento(symbols, timeframe, settings=settings)
    return {"tag": tag, "exported_to": publish_bento(tag, settings=settings)}


@task(task_run_name="roll out {tag}", timeout_seconds=3600)
def rollout_task(tag: str) -> dict[str, Any]:
    """Ask the deployer to serve the new Bento; it fails (and alerts) when the deployer kept the old one."""
    operation = DeployerClient.from_settings(get_settings()).rollout(tag)
    print(f"{operation.detail} ({operation.seconds_to_served} s from request to served)")
    return operation.model_dump(mode="json")


@flow(name="export-champion", log_prints=True, timeout_seconds=6000)
def export_champion(
    symbols: list[str] | None = None, timeframe: str | None = None, build: bool = True
) -> dict[str, Any]:
    settings = get_settings()
    engine()  # the store must exist before the service that reads it is packaged
    names = symbols or settings.symbols
    timeframe = timeframe or settings.timeframe
    exported = [future.result() for future in export_symbol.map(names, unmapped(timeframe))]
    ready = [name for name, tag in zip(names, exported, strict=True) if tag is not None]
    bento = build_task(ready, timeframe) if build and ready else None
    tag = bento["tag"] if bento else None
    rollout = rollout_task(tag) if tag and settings.deployer_url else None
    return {"exported": exported, "bento": bento, "rollout": rollout}
