"""The deployer's HTTP API: the only way into the one container that holds the Docker socket.

Three operations behind a bearer token, a health check and Prometheus's discovery of the Bento
containers without one: what the export flow, an operator and Prometheus need, nothing that could start
an arbitrary image, mount a path or run a command. A caller that gets the token
can roll the Bento to a version the artifact store or the image registry already holds, no more.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException
from pydantic import BaseModel, field_validator

from alphapulse.rollout.deployer import BusyError, Deployer, Kind
from alphapulse.rollout.engine import EngineError
from alphapulse.rollout.state import DeployState, Operation, bento_version


class RolloutRequest(BaseModel):
    tag: str

    @field_validator("tag")
    @classmethod
    def _tag(cls, value: str) -> str:
        bento_version(value)
        return value


class RollbackRequest(BaseModel):
    tag: str | None = None

    @field_validator("tag")
    @classmethod
    def _tag(cls, value: str | None) -> str | None:
        if value is not None:
            bento_version(value)
        return value


def create_app(deployer: Deployer, token: str) -> FastAPI:
    app = FastAPI(title="AlphaPulse deployer", docs_url=None, redoc_url=None, openapi_url=None)

    def authorized(authorization: Annotated[str | None, Header()] = None) -> None:
        expected = f"Bearer {token}"
        if authorization is None or not secrets.compare_digest(authorization.encode(), expected.encode()):
            raise HTTPException(status_code=401, detail="missing or wrong bearer token")

    def start(tag: str | None, kind: Kind) -> Operation:
        try:
            return deployer.submit(tag, kind=kind)
        except BusyError as busy:
            raise HTTPException(status_code=409, detail=str(busy)) from busy
        except LookupError as missing:
            raise HTTPException(status_code=409, detail=str(missing)) from missing

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"ok": True, "busy": deployer.busy}

    @app.get("/scrape-targets")
    def scrape_targets() -> list[dict[str, Any]]:
        """Prometheus's HTTP service discovery of the Bento containers (deploy/observability): their
        addresses on the stack's networks, nothing an attacker could act on, so no token to hand out."""
        try:
            return deployer.scrape_targets()
        except EngineError as unreachable:  # Prometheus keeps the targets it had
            raise HTTPException(status_code=503, detail=str(unreachable)) from unreachable

    @app.get("/status", dependencies=[Depends(authorized)])
    def status() -> DeployState:
        return deployer.snapshot()

    @app.post("/rollout", status_code=202, dependencies=[Depends(authorized)])
    def rollout(request: RolloutRequest) -> Operation:
        return start(request.tag, "rollout")

    @app.post("/rollback", status_code=202, dependencies=[Depends(authorized)])
    def rollback(request: RollbackRequest) -> Operation:
        return start(request.tag, "rollback")

    return app
