"""Tiny BentoML service that stands in for the real Bento behind Caddy in the proxy test.

It is served by a real `bentoml serve`, so BentoML's own /healthz, /readyz and /metrics
routes exist exactly as they will in the production container; /admitted answers like a Bento the
deployer has admitted (Caddy's health check of both colours asks it).
"""

from __future__ import annotations

import bentoml
from fastapi import FastAPI, Request

reads = FastAPI()


@reads.get("/admitted")
async def admitted() -> dict[str, bool]:
    return {"admitted": True}


@reads.post("/echo-headers")
async def echo_headers(request: Request) -> dict[str, str]:
    """The headers the upstream received (what Caddy passed on), for the Grafana site's test."""
    return dict(request.headers)


@bentoml.asgi_app(reads, path="/")
@bentoml.service(name="proxy_target", workers=1)
class ProxyTarget:
    @bentoml.api(route="/echo")
    def echo(self, text: str) -> dict[str, object]:
        """Return what was sent, so the test can tell the request really reached the Bento."""
        return {"text": text, "length": len(text)}

    @bentoml.api(route="/api/health")
    def api_health(self) -> dict[str, str]:
        """Stands in for Prefect's /api when the test points the Prefect site at this Bento."""
        return {"status": "ok"}
