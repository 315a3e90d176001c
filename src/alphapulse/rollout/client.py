"""Callers of the deployer (the export flow, ``alphapulse deploy``): ask, then poll until it is done."""

from __future__ import annotations

import time

import httpx

from alphapulse.rollout.state import DeployState, Operation
from alphapulse.settings import Settings


class DeployerError(RuntimeError):
    """The deployer refused the request or the operation did not end with the version served."""


class DeployerClient:
    def __init__(self, url: str, token: str, *, timeout: float = 30.0) -> None:
        self._client = httpx.Client(
            base_url=url.rstrip("/"), headers={"Authorization": f"Bearer {token}"}, timeout=timeout
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> DeployerClient:
        if settings.deployer_url is None or settings.deployer_token is None:
            raise DeployerError(
                "set ALPHAPULSE_DEPLOYER_URL and ALPHAPULSE_DEPLOYER_TOKEN to reach the deployer"
            )
        return cls(settings.deployer_url, settings.deployer_token.get_secret_value())

    def close(self) -> None:
        self._client.close()

    def status(self) -> DeployState:
        return DeployState.model_validate(self._checked(self._client.get("/status")))

    def rollout(self, tag: str, *, wait: float = 1800.0) -> Operation:
        return self._wait(self._checked(self._client.post("/rollout", json={"tag": tag})), wait)

    def rollback(self, tag: str | None = None, *, wait: float = 1800.0) -> Operation:
        return self._wait(self._checked(self._client.post("/rollback", json={"tag": tag})), wait)

    def _checked(self, response: httpx.Response) -> dict[str, object]:
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise DeployerError(f"deployer: {response.status_code} {detail}")
        return dict(response.json())

    def _wait(self, started: dict[str, object], wait: float) -> Operation:
        operation = Operation.model_validate(started)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            last = self.status().last
            if last is not None and last.started_at == operation.started_at and last.outcome != "running":
                if last.outcome != "served":
                    raise DeployerError(f"{last.kind} to {last.version}: {last.outcome}: {last.detail}")
                return last
            time.sleep(1.0)
        raise DeployerError(f"{operation.kind} to {operation.version} still running after {wait:g} s")
