"""What each path of the service asks of a request: the key scope, the largest body, a concurrency cap.

The one table the access gate (``serving.access``) and the OpenAPI document (``serving.openapi``) read,
so what is enforced is what is documented. A path not listed here is answered 404 by the gate; the
probes are open so that Docker, Caddy and Prometheus need no key.
"""

from __future__ import annotations

from dataclasses import dataclass

KIB = 1024
MIB = 1024 * KIB


@dataclass(frozen=True)
class Endpoint:
    """``scope`` None: open to anyone (a probe or the API's description)."""

    scope: str | None
    max_body: int
    tag: str
    #: Whether requests wait for one of the worker's few compute slots (``serving_predict_concurrency``).
    limited: bool = False


ENDPOINTS: dict[str, Endpoint] = {
    "/signal": Endpoint("signal", 1 * KIB, "signals"),
    # 2,002 candles (a full window, the most a client ever needs to send) are about 290 KiB of JSON.
    "/predict": Endpoint("predict", 1 * MIB, "signals", limited=True),
    "/predict_batch": Endpoint("predict", 4 * MIB, "signals"),
    # 64 headlines of at most 1,000 characters (schemas.MAX_COMPARED_HEADLINES), each character \u-escaped
    # at worst (6 bytes): 384,000 bytes.
    "/sentiment": Endpoint("sentiment", 512 * KIB, "sentiment", limited=True),
    "/models/status": Endpoint("models", 0, "models"),
    "/models/performance": Endpoint("models", 0, "models"),
    "/admin/reload": Endpoint("admin", 1 * KIB, "admin"),
    "/admitted": Endpoint(None, 0, "infrastructure"),
    "/healthz": Endpoint(None, 0, "infrastructure"),
    "/livez": Endpoint(None, 0, "infrastructure"),
    "/readyz": Endpoint(None, 0, "infrastructure"),
    "/metrics": Endpoint(None, 0, "infrastructure"),
    "/docs": Endpoint(None, 0, "infrastructure"),
    "/docs.json": Endpoint(None, 0, "infrastructure"),
}

#: Header names a client may put its key in (``Authorization: Bearer <key>`` is also read).
KEY_HEADER = "X-API-Key"
