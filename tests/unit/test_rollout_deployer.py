"""The deployer's switch, order and failure paths, against a fake engine whose "containers" are real HTTP
servers on loopback (host-networking mode): admission before withdrawal, the old colour stopped only after
both, a refused new version leaving the old one admitted, a fresh server's bootstrap retried until the
release serves, and the smoke check's own key (issued in the store, sent, revoked after). The real engine, Bento and Caddy: tests/deploy/test_rollout_containers.py."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from alphapulse.access.keys import InvalidKeyError, list_keys, verify_key
from alphapulse.rollout import Deployer
from alphapulse.rollout.engine import ContainerSpec
from alphapulse.serving import CONTAINER_ADMISSION_FILE
from alphapulse.settings import Settings
from alphapulse.store import make_engine, upgrade
from tests.support.processes import free_port, wait_until


class FakeBento(BaseHTTPRequestHandler):
    """/readyz 200 (open); with a key of the store allowing the scope, /models/status lists the world's
    champions and /signal answers 200 with a model, or 404 while the world has no features; 401 without
    a valid key, 403 with one lacking the scope."""

    world: World

    def do_GET(self) -> None:
        if self.path == "/models/status":
            if self._refused("models"):
                return
            models = [{"symbol": s, "timeframe": "1h", "role": "champion"} for s in self.world.champions]
            self._answer(200, {"models": models, "shadow": False, "bento": "alphapulse:v1"})
        else:
            self._answer(200, {"ready": True})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        if self._refused("signal"):
            return
        self.world.asked.append(body["symbol"])
        if self.world.features:
            self._answer(200, {"model": "m", "direction": "up"})
        else:
            self._answer(404, {"detail": "no precomputed features"})

    def _refused(self, scope: str) -> bool:
        token = self.headers.get("X-API-Key", "")
        try:
            key = verify_key(self.world.store, token)
        except InvalidKeyError as error:
            self._answer(401, {"error": "unauthorized", "message": str(error)})
            return True
        self.world.keys_seen.add(key.key_id)
        if not key.allows(scope):
            self._answer(403, {"error": "forbidden", "message": f"scope {scope!r}"})
            return True
        return False

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


class World:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.store = make_engine(database_url)
        upgrade(self.store)
        self.keys_seen: set[str] = set()
        self.features = True
        self.refuse_exec = False
        self.champions = ["BTC/USDT"]
        self.asked: list[str] = []


class FakeEngine:
    """The Engine API calls the deployer makes; every call is recorded in order."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.calls: list[tuple[str, ...]] = []
        self.servers: dict[str, ThreadingHTTPServer] = {}
        self.labels: dict[str, dict[str, str]] = {}

    def ping(self) -> None:
        pass

    def image_exists(self, reference: str) -> bool:
        return True

    def inspect(self, name: str) -> dict[str, Any] | None:
        if name not in self.servers:
            return None
        return {
            "State": {"Running": True, "Status": "running"},
            "RestartCount": 0,
            "Config": {"Labels": self.labels[name]},
        }

    def run(self, spec: ContainerSpec) -> str:
        self.calls.append(("run", spec.name, spec.env["ALPHAPULSE_SERVING_ADMISSION_FILE"]))
        handler = type("Handler", (FakeBento,), {"world": self.world})
        server = ThreadingHTTPServer(("127.0.0.1", int(spec.env["BENTOML_PORT"])), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.servers[spec.name] = server
        self.labels[spec.name] = spec.labels
        return spec.name

    def stop(self, name: str, timeout: int) -> None:
        self.calls.append(("stop", name))

    def remove(self, name: str) -> None:
        self.calls.append(("remove", name))
        server = self.servers.pop(name, None)
        if server is not None:
            server.shutdown()
            server.server_close()

    def logs(self, name: str, tail: int = 60) -> str:
        return ""

    def exec(self, container: str, command: list[str], timeout: float = 120.0) -> tuple[int, str]:
        self.calls.append(("exec", container, *command))
        return (1, "refused") if self.world.refuse_exec else (0, "")

    def close(self) -> None:
        for name in list(self.servers):
            self.remove(name)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """The store the Bento and the deployer share (SQLite here, PostgreSQL in the stack)."""
    world = World(f"sqlite:///{tmp_path / 'store.db'}")
    yield world
    world.store.dispose()


@pytest.fixture
def engine(world: World) -> Iterator[FakeEngine]:
    fake = FakeEngine(world)
    yield fake
    fake.close()


def _deployer(tmp_path: Path, engine: FakeEngine, **overrides: Any) -> Deployer:
    settings = Settings(
        **{
            "home": tmp_path,
            "database_url": engine.world.database_url,
            "rollout_host_ports": (free_port(), free_port()),
            "rollout_admission_seconds": 0.01,
            "rollout_drain_seconds": 0,
            "rollout_ready_timeout_seconds": 10,
            **overrides,
        }
    )
    return Deployer(settings, engine=engine)  # type: ignore[arg-type]


def _admission(engine: FakeEngine) -> list[tuple[str, ...]]:
    return [call for call in engine.calls if call[0] in {"exec", "stop"}]


def test_the_new_colour_is_admitted_before_the_old_is_withdrawn_then_stopped(
    tmp_path: Path, engine: FakeEngine
) -> None:
    deployer = _deployer(tmp_path, engine)
    deployer.submit("v1")
    wait_until(lambda: not deployer.busy, timeout=20, what="the first rollout")
    engine.calls.clear()
    deployer.submit("v2")
    wait_until(lambda: not deployer.busy, timeout=20, what="the second rollout")
    state = deployer.snapshot()
    assert state.active is not None
    assert (state.active.version, state.active.color) == ("v2", "green")
    assert state.last is not None
    assert state.last.outcome == "served", state.last.detail
    touch, remove = ["touch", str(CONTAINER_ADMISSION_FILE)], ["rm", "-f", str(CONTAINER_ADMISSION_FILE)]
    assert _admission(engine) == [
        ("exec", "alphapulse-bento-green", *touch),
        ("exec", "alphapulse-bento-blue", *remove),
        ("stop", "alphapulse-bento-blue"),
    ]
    assert engine.calls[0] == ("run", "alphapulse-bento-green", str(CONTAINER_ADMISSION_FILE))


def test_a_version_that_cannot_be_admitted_leaves_the_old_one_serving(
    tmp_path: Path, engine: FakeEngine, world: World
) -> None:
    deployer = _deployer(tmp_path, engine)
    deployer.submit("v1")
    wait_until(lambda: not deployer.busy, timeout=20, what="the first rollout")
    engine.calls.clear()
    world.refuse_exec = True
    deployer.submit("v2")
    wait_until(lambda: not deployer.busy, timeout=20, what="the refused rollout")
    state = deployer.snapshot()
    assert state.active is not None
    assert state.active.version == "v1"
    assert state.last is not None
    assert state.last.outcome == "kept previous"
    assert "not admitted" in state.last.detail
    assert ("remove", "alphapulse-bento-green") in engine.calls
    assert not any(call[:2] == ("exec", "alphapulse-bento-blue") for call in engine.calls), "never withdrawn"
    assert not any(call[0] == "stop" for call in engine.calls)


def test_a_fresh_server_retries_its_initial_image_until_features_exist(
    tmp_path: Path, engine: FakeEngine, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="alphapulse.rollout.deployer")
    world.features = False
    deployer = _deployer(
        tmp_path, engine, rollout_initial_image="alphapulse:v1", rollout_bootstrap_retry_seconds=0.2
    )
    deployer.start()
    wait_until(lambda: "not serving yet" in caplog.text, timeout=20, what="a failed try")
    assert deployer.snapshot().active is None
    assert "smoke /signal BTC/USDT: 404" in caplog.text, "the smoke check's answer is the reason"
    world.features = True

    def served() -> bool:
        active = deployer.snapshot().active
        return active is not None and active.version == "v1"

    wait_until(served, timeout=20, what="the retried bootstrap")
    runs = [call for call in engine.calls if call[0] == "run"]
    assert len(runs) >= 2, "tried again, not given up"


def test_a_restarted_deployer_admits_what_its_state_serves(tmp_path: Path, engine: FakeEngine) -> None:
    deployer = _deployer(tmp_path, engine)
    deployer.submit("v1")
    wait_until(lambda: not deployer.busy, timeout=20, what="the rollout")
    engine.calls.clear()
    again = Deployer(deployer.settings, engine=engine)  # type: ignore[arg-type]
    again.start()
    assert engine.calls == [("exec", "alphapulse-bento-blue", "touch", str(CONTAINER_ADMISSION_FILE))]


def test_the_smoke_check_asks_every_served_champion_and_no_unserved_symbol(
    tmp_path: Path, engine: FakeEngine, world: World
) -> None:
    """ETH/USDT is configured but no model of it has passed the gate: the Bento serves BTC/USDT alone."""
    deployer = _deployer(tmp_path, engine, symbols=["BTC/USDT", "ETH/USDT"])
    deployer.submit("v1")
    wait_until(lambda: not deployer.busy, timeout=20, what="the rollout")
    state = deployer.snapshot()
    assert state.active is not None, state.last
    assert state.active.version == "v1"
    assert world.asked == ["BTC/USDT"]


def test_a_version_serving_no_champion_is_refused(tmp_path: Path, engine: FakeEngine, world: World) -> None:
    world.champions = []
    deployer = _deployer(tmp_path, engine)
    deployer.submit("v1")
    wait_until(lambda: not deployer.busy, timeout=20, what="the refused rollout")
    state = deployer.snapshot()
    assert state.active is None
    assert state.last is not None
    assert "serves no champion" in state.last.detail


def test_prometheus_discovers_the_running_colours_and_forgets_a_removed_one(
    tmp_path: Path, engine: FakeEngine
) -> None:
    deployer = _deployer(tmp_path, engine)
    assert deployer.scrape_targets() == []
    deployer.submit("v1")
    wait_until(lambda: not deployer.busy, timeout=20, what="the first rollout")
    (blue,) = deployer.scrape_targets()
    assert blue["labels"] == {"colour": "blue", "bento_tag": "v1", "serving": "true"}
    assert blue["targets"] == [deployer.snapshot().active.upstream]  # type: ignore[union-attr]
    deployer.submit("v2")
    wait_until(lambda: not deployer.busy, timeout=20, what="the second rollout")
    (green,) = deployer.scrape_targets()
    assert green["labels"] == {"colour": "green", "bento_tag": "v2", "serving": "true"}


def test_the_smoke_check_sends_a_key_of_its_own_and_revokes_it_after(
    tmp_path: Path, engine: FakeEngine, world: World
) -> None:
    deployer = _deployer(tmp_path, engine)
    deployer.submit("v1")
    wait_until(lambda: not deployer.busy, timeout=20, what="the rollout")
    state = deployer.snapshot()
    assert state.last is not None
    assert state.last.outcome == "served", state.last.detail
    keys = list_keys(world.store, include_revoked=True)
    assert [(k.name, k.scopes) for k in keys] == [("rollout-smoke-blue", ("models", "signal"))]
    assert world.keys_seen == {keys[0].key_id}, "the Bento saw that key"
    assert keys[0].revoked_at is not None, "revoked once the check was done"
    assert list_keys(world.store) == []


def test_a_refused_smoke_check_revokes_its_key_too_and_a_leftover_key_is_replaced(
    tmp_path: Path, engine: FakeEngine, world: World
) -> None:
    """A deployer killed mid-check leaves its key active: the next check revokes it and issues its own."""
    from alphapulse.access.keys import create_key

    leftover = create_key(world.store, "rollout-smoke-blue", ["signal", "models"])
    world.features = False
    deployer = _deployer(tmp_path, engine)
    deployer.submit("v1")
    wait_until(lambda: not deployer.busy, timeout=20, what="the refused rollout")
    state = deployer.snapshot()
    assert state.last is not None
    assert state.last.outcome == "failed"
    assert "smoke /signal BTC/USDT: 404" in state.last.detail, state.last.detail
    keys = list_keys(world.store, include_revoked=True)
    assert len(keys) == 2
    assert leftover.info.key_id in {k.key_id for k in keys}
    assert all(k.revoked_at is not None for k in keys), keys
    with pytest.raises(InvalidKeyError):
        verify_key(world.store, leftover.token)


def test_a_store_without_the_keys_table_refuses_the_rollout_naming_the_key(
    tmp_path: Path, engine: FakeEngine
) -> None:
    deployer = _deployer(tmp_path, engine, database_url=f"sqlite:///{tmp_path / 'empty.db'}")
    deployer.submit("v1")
    wait_until(lambda: not deployer.busy, timeout=20, what="the refused rollout")
    state = deployer.snapshot()
    assert state.active is None
    assert state.last is not None
    assert state.last.outcome == "failed"
    assert "smoke key rollout-smoke-blue" in state.last.detail, state.last.detail
    assert ("remove", "alphapulse-bento-blue") in engine.calls
