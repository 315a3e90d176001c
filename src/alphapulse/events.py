"""The events AlphaPulse emits to Prefect; deployment triggers in prefect.yaml react to them."""

from __future__ import annotations

from typing import Any, Final

DRIFT_DETECTED: Final = "alphapulse.drift.detected"
PERFORMANCE_DEGRADED: Final = "alphapulse.performance.degraded"
MODEL_PROMOTED: Final = "alphapulse.model.promoted"


def resource_id(model_name: str) -> str:
    """Every event concerns one registered model; triggers match ``alphapulse.*``."""
    return f"alphapulse.model.{model_name}"


def emit(event: str, *, model_name: str, payload: dict[str, Any]) -> bool:
    """Send the event to the Prefect API in use; returns whether one received it.

    Outside a flow run and with no ``PREFECT_API_URL`` there is nobody to react (no automation exists),
    so nothing is sent rather than starting a throwaway ephemeral server just to drop the event.
    """
    from prefect.context import FlowRunContext  # Prefect is only needed where events are emitted
    from prefect.events import emit_event
    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value() is None and FlowRunContext.get() is None:
        return False
    sent = emit_event(
        event=event,
        resource={"prefect.resource.id": resource_id(model_name), "prefect.resource.name": model_name},
        payload=payload,
    )
    return sent is not None
