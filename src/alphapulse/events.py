"""The events AlphaPulse emits to Prefect; deployment triggers in prefect.yaml react to them.

Pipeline steps are chained by these events rather than by Prefect's own flow-run state events: Prefect
holds a state event back (its causal ordering, up to 15 minutes) when the state it follows was never
announced, which is the case for every run its scheduler created less than five minutes before the run
started (the first runs after a deploy, every run of a fast dry-run schedule). Our events follow nothing,
so a trigger on them fires as soon as the event arrives.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from sqlalchemy import Engine

from alphapulse.store.queries import unfeatured_symbols

DRIFT_DETECTED: Final = "alphapulse.drift.detected"
PERFORMANCE_DEGRADED: Final = "alphapulse.performance.degraded"
MODEL_PROMOTED: Final = "alphapulse.model.promoted"
CANDLES_STORED: Final = "alphapulse.candles.stored"


def resource_id(model_name: str) -> str:
    """Every model event concerns one registered model; triggers match ``alphapulse.*``."""
    return f"alphapulse.model.{model_name}"


def candles_resource_id(exchange: str, timeframe: str) -> str:
    """Candle events concern one exchange's bars of one timeframe (all its symbols)."""
    return f"alphapulse.candles.{exchange}.{timeframe}"


def emit(event: str, *, model_name: str, payload: dict[str, Any]) -> bool:
    """Sends a model event; returns whether a Prefect API received it."""
    return _send(
        event, {"prefect.resource.id": resource_id(model_name), "prefect.resource.name": model_name}, payload
    )


def announce_stored_candles(
    engine: Engine, exchange: str, timeframe: str, changed: Mapping[str, int]
) -> bool:
    """After an ingestion: tells the features deployment which symbols need a build, those ``changed``
    counts new or corrected bars for and those whose stored bars are ahead of their features (bars an
    ingestion stored before it died unannounced). Nothing to build, nothing announced."""
    stored = {symbol: count for symbol, count in changed.items() if count > 0}
    symbols = sorted({*stored, *unfeatured_symbols(engine, exchange, list(changed), timeframe)})
    if not symbols:
        return False
    resource = {
        "prefect.resource.id": candles_resource_id(exchange, timeframe),
        "prefect.resource.name": f"{exchange} {timeframe} candles",
    }
    payload = {"exchange": exchange, "timeframe": timeframe, "symbols": symbols, "bars": stored}
    return _send(CANDLES_STORED, resource, payload)


def _send(event: str, resource: dict[str, str], payload: dict[str, Any]) -> bool:
    """Outside a flow run and with no ``PREFECT_API_URL`` there is nobody to react (no automation exists),
    so nothing is sent rather than starting a throwaway ephemeral server just to drop the event."""
    from prefect.context import FlowRunContext  # Prefect is only needed where events are emitted
    from prefect.events import emit_event
    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value() is None and FlowRunContext.get() is None:
        return False
    return emit_event(event=event, resource=resource, payload=payload) is not None
