"""The deployer's state, tag rules and API surface; the rollout itself runs against a real Docker engine and
Caddy in tests/deploy/test_rollout_containers.py."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from alphapulse.rollout import Deployer, bento_version
from alphapulse.rollout.api import create_app
from alphapulse.rollout.state import DeployState, Slot, load_state, save_state
from alphapulse.settings import Settings

TOKEN = "t" * 32


def _slot(version: str, color: str = "blue") -> Slot:
    return Slot(
        color=color,  # type: ignore[arg-type]
        version=version,
        image=f"alphapulse:{version}",
        container=f"alphapulse-bento-{color}",
        upstream="127.0.0.1:3001",
        since=datetime.now(UTC),
    )


def test_bento_version_accepts_a_tag_or_a_version() -> None:
    assert bento_version("alphapulse:v3-fs927fac27fe558dff-20261202t101500") == (
        "v3-fs927fac27fe558dff-20261202t101500"
    )
    assert bento_version("v1_v2-fsab-20261202t101500") == "v1_v2-fsab-20261202t101500"


@pytest.mark.parametrize("bad", ["", "alphapulse:", "v1 v2", "-v1", "other:v1", "x" * 129, "v1;rm"])
def test_bento_version_refuses_what_docker_would_not_tag(bad: str) -> None:
    with pytest.raises(ValueError, match=r"tag: .* is not a Bento tag"):
        bento_version(bad)


def test_history_keeps_earlier_versions_newest_last_without_repeats() -> None:
    state = DeployState()
    for version in ["v1", "v2", "v3", "v1", "v4"]:
        state.served(_slot(version))
    assert state.active is not None
    assert state.active.version == "v4"
    assert state.history == ["v2", "v3", "v1"]
    assert state.previous() == "v1"


def test_no_previous_version_is_a_clear_error() -> None:
    state = DeployState()
    state.served(_slot("v1"))
    with pytest.raises(LookupError, match="no previous Bento version"):
        state.previous()


def test_state_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "deployer" / "state.json"
    state = DeployState()
    state.served(_slot("v1"))
    state.served(_slot("v2", "green"))
    save_state(state, path)
    assert load_state(path) == state
    assert [p.name for p in path.parent.iterdir()] == ["state.json"], "no temporary file left behind"


@pytest.fixture
def api(tmp_path: Path) -> TestClient:
    settings = Settings(home=tmp_path, docker_socket=tmp_path / "no-engine.sock")
    return TestClient(create_app(Deployer(settings), TOKEN))


def test_api_refuses_calls_without_the_token(api: TestClient) -> None:
    assert api.get("/healthz").status_code == 200, "the health check needs no token"
    assert api.get("/status").status_code == 401
    assert api.get("/status", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert api.post("/rollout", json={"tag": "alphapulse:v1"}).status_code == 401
    assert api.post("/rollback", json={}).status_code == 401
    # Prometheus's discovery needs no token either; without the engine it says so, naming the socket.
    targets = api.get("/scrape-targets")
    assert targets.status_code == 503
    assert "no-engine.sock" in targets.json()["detail"]


def test_api_names_the_bad_field(api: TestClient) -> None:
    response = api.post(
        "/rollout", json={"tag": "v1; rm -rf /"}, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert response.status_code == 422
    assert "is not a Bento tag" in response.text
    assert "tag" in response.text


def test_rollback_without_history_is_refused_and_nothing_runs(api: TestClient) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    response = api.post("/rollback", json={}, headers=auth)
    assert response.status_code == 409
    assert "no previous Bento version" in response.json()["detail"]
    status = api.get("/status", headers=auth).json()
    assert status["active"] is None
    assert status["last"] is None
