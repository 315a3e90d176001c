"""Blue-green rollout of the Bento behind Caddy.

A rollout starts the new version in the idle colour beside the serving one, waits for its ``/readyz`` and
a smoke ``/models/status`` and ``/signal`` (with a key of its own, issued in the store for the check and
revoked after it), admits it to Caddy's traffic, withdraws the old one (both colours are Caddy upstreams;
its health check of ``/admitted`` follows the admission file, see ``alphapulse.serving.admission``: no
reload, so no client connection is closed), waits for requests already proxied to the old container to
finish, and stops it. If the new container fails its checks or cannot be admitted, the old one never
stops serving and the new one is removed: that is the automatic rollback. A rollback is a rollout to an
earlier version.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tarfile
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO, Any, Literal, get_args

import httpx
from sqlalchemy.exc import SQLAlchemyError

from alphapulse.access.keys import AccessKeyError, revoke_key, temporary_key
from alphapulse.rollout.engine import ContainerSpec, DockerEngine, EngineError
from alphapulse.rollout.state import (
    Color,
    DeployState,
    Operation,
    Outcome,
    Slot,
    bento_version,
    load_state,
    other,
    save_state,
)
from alphapulse.serving.admission import CONTAINER_ADMISSION_FILE
from alphapulse.serving.bento import BENTO_NAME, import_bento
from alphapulse.serving.endpoints import KEY_HEADER
from alphapulse.settings import Settings
from alphapulse.store import make_engine

log = logging.getLogger(__name__)
#: Port the Bento listens on inside its container on a Docker network (BentoML's default).
BENTO_PORT = 3000
#: Label on every container the deployer owns (it never touches any other).
OWNER_LABEL = "org.alphapulse.deployer"
#: What the smoke check's own key may call (``alphapulse.access.keys``).
SMOKE_SCOPES = ("signal", "models")


Kind = Literal["rollout", "rollback", "bootstrap"]


class RolloutError(RuntimeError):
    """The new version did not become ready or was refused; the previous one is still serving."""


class BusyError(RuntimeError):
    """Another rollout or rollback is running."""


class Deployer:
    def __init__(self, settings: Settings, engine: DockerEngine | None = None) -> None:
        self.settings = settings
        self.engine = engine or DockerEngine(settings.docker_socket)
        self.state_file = settings.deployer_state_dir / "state.json"
        self.state = load_state(self.state_file)
        self._lock = threading.Lock()

    # --- public operations -------------------------------------------------------------------

    def submit(self, tag: str | None, *, kind: Kind = "rollout") -> Operation:
        """Start a rollout (or, with ``tag`` None, a rollback to the previous version) in the background;
        :attr:`state` ``.last`` tells how it goes."""
        operation = self._begin(tag, kind)
        threading.Thread(target=self._run_quietly, args=(operation,), daemon=True).start()
        return operation

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    def _begin(self, tag: str | None, kind: Kind) -> Operation:
        version = bento_version(tag) if tag is not None else self.state.previous()
        if not self._lock.acquire(blocking=False):
            running = self.state.last
            what = f"{running.kind} to {running.version}" if running else "rollout"
            raise BusyError(f"a {what} is running; try again when it has finished")
        operation = Operation(kind=kind, version=version, started_at=datetime.now(UTC))
        self._record(operation)
        return operation

    def _run(self, operation: Operation, image: str | None) -> Operation:
        try:
            return self._rollout(operation, image)
        finally:
            self._lock.release()

    def _run_quietly(self, operation: Operation) -> None:
        with contextlib.suppress(RolloutError):  # recorded in the state, which callers poll
            self._run(operation, None)

    def start(self) -> None:
        """On the deployer's start: serve what the state says, admitted, and nothing beside it. A fresh
        server (no state) serves the initial image as soon as it passes its checks: tried in the
        background until then, since its smoke check fails until the pipeline has stored features."""
        self.engine.ping()
        active = self.state.active
        if active is None:
            initial = self.settings.rollout_initial_image
            if initial is not None:
                threading.Thread(target=self._bootstrap, args=(initial,), daemon=True).start()
            return
        container = self.engine.inspect(active.container)
        if container is None:
            self.engine.run(self._spec(active.color, active.version, active.image))
        elif not container["State"]["Running"]:
            self.engine.start(active.container)
        leftover = self._container_name(other(active.color))
        if self.engine.inspect(leftover) is not None:
            self.engine.remove(leftover)  # a rollout interrupted before its switch
        self._admit(active.container)

    def _bootstrap(self, image: str) -> None:
        """Until something serves: the initial image, again every ``rollout_bootstrap_retry_seconds``. An
        operator's rollout meanwhile wins (the loop stops once the state names an active version)."""
        retry = self.settings.rollout_bootstrap_retry_seconds
        while self.state.active is None:
            try:
                operation = self._begin(image.rsplit(":", 1)[1], "bootstrap")
            except BusyError:
                time.sleep(retry)
                continue
            try:
                self._run(operation, image)
                return
            except RolloutError as failed:
                log.warning("initial image not serving yet, next try in %g s: %s", retry, failed)
            time.sleep(retry)

    # --- the rollout -------------------------------------------------------------------------

    def _rollout(self, operation: Operation, image: str | None) -> Operation:
        started = time.monotonic()
        version = operation.version
        old = self.state.active
        if old is not None and old.version == version and self._running(old.container):
            return self._finish(operation, "served", f"{version} is already serving ({old.color})")
        color: Color = other(old.color) if old is not None else "blue"
        name = self._container_name(color)
        try:
            reference = image or self.ensure_image(version)
            if image is not None and not self.engine.image_exists(image):
                self.engine.pull(image)
            if self.engine.inspect(name) is not None:
                self.engine.remove(name)
            self.engine.run(self._spec(color, version, reference))
            upstream = self._upstream(color)
            self._wait_ready(name, upstream)
            self._smoke(color, upstream)
        except (RolloutError, EngineError, LookupError, RuntimeError) as failed:
            with contextlib.suppress(EngineError):
                if self.engine.inspect(name) is not None:
                    self.engine.remove(name)
            outcome: Outcome = "kept previous" if old is not None else "failed"
            kept = f"; {old.version} ({old.color}) keeps serving" if old is not None else ""
            self._finish(operation, outcome, f"{version}: {failed}{kept}")
            raise RolloutError(operation.detail) from failed
        try:
            self._admit(name)
        except (RuntimeError, EngineError) as refused:
            with contextlib.suppress(EngineError):
                self.engine.remove(name)
            self._finish(
                operation, "kept previous" if old else "failed", f"{version}: not admitted: {refused}"
            )
            raise RolloutError(operation.detail) from refused
        time.sleep(self.settings.rollout_admission_seconds)  # Caddy's health check sees it admitted
        withdrawn = ""
        if old is not None:
            try:
                self._withdraw(old.container)
                time.sleep(self.settings.rollout_admission_seconds)  # ... and the old one withdrawn
            except (RuntimeError, EngineError) as gone:  # not running: Caddy already skips it
                withdrawn = f"; {old.version} ({old.color}) could not be withdrawn: {gone}"
        operation.seconds_to_served = round(time.monotonic() - started, 2)
        self.state.served(
            Slot(
                color=color,
                version=version,
                image=reference,
                container=name,
                upstream=upstream,
                since=datetime.now(UTC),
            )
        )
        self._record(operation)  # Caddy already sends everything new to it: a restart must know
        detail = f"{version} serves on {color}{withdrawn}"
        if old is not None:
            time.sleep(self.settings.rollout_drain_seconds)
            try:
                self.engine.stop(old.container, self.settings.rollout_stop_timeout_seconds)
                self.engine.remove(old.container)
                detail += f"; {old.version} ({old.color}) drained and removed"
            except EngineError as stuck:
                detail += f"; {old.version} ({old.color}) could not be removed: {stuck}"
        return self._finish(operation, "served", detail)

    def ensure_image(self, version: str) -> str:
        """The image of a Bento version: already in the engine, pulled from the image registry (CI's
        release images), or built here from the Bento exported to the artifact store (promotions)."""
        reference = f"{self.image_repository}:{version}"
        if self.engine.image_exists(reference):
            return reference
        tried = [f"no image {reference} in the engine"]
        if "/" in self.image_repository:
            try:
                self.engine.pull(reference)
                return reference
            except EngineError as failed:
                tried.append(str(failed))
        exports = self.settings.bento_exports_uri
        if exports is None:
            raise LookupError(
                "; ".join([*tried, "no artifact store (ALPHAPULSE_BENTO_EXPORTS_URI) to build from"])
            )
        tag = import_bento(f"{exports.rstrip('/')}/{BENTO_NAME}-{version}.bento", settings=self.settings)
        self._build(tag, reference)
        return reference

    @property
    def image_repository(self) -> str:
        if self.settings.rollout_image_repository:
            return self.settings.rollout_image_repository
        if self.settings.rollout_initial_image:
            return self.settings.rollout_initial_image.rsplit(":", 1)[0]
        return BENTO_NAME

    def _build(self, tag: str, reference: str) -> None:
        """What ``bentoml containerize`` does (BentoML's own Containerfile and build context), sent to the
        engine's build endpoint, so the deployer needs no docker CLI."""
        import bentoml
        from bentoml._internal.container import construct_containerfile

        bento = bentoml.get(tag)
        with (
            construct_containerfile(bento, enable_buildkit=False, add_header=True) as (context, dockerfile),
            tempfile.TemporaryFile() as archive,
        ):
            with tarfile.open(fileobj=archive, mode="w") as tar:
                tar.add(context, arcname=".")
            archive.seek(0)
            self.engine.build(
                _chunks(archive),
                reference,
                os.path.relpath(dockerfile, context),
                self.settings.rollout_build_network,
            )

    # --- pieces ------------------------------------------------------------------------------

    def _container_name(self, color: Color) -> str:
        return f"{self.settings.rollout_container_prefix}-{color}"

    def _upstream(self, color: Color) -> str:
        if self.settings.rollout_networks:
            return f"{self._container_name(color)}:{BENTO_PORT}"
        blue, green = self.settings.rollout_host_ports
        return f"127.0.0.1:{blue if color == 'blue' else green}"

    def _spec(self, color: Color, version: str, image: str) -> ContainerSpec:
        env = dict(self.settings.rollout_bento_env)
        env["ALPHAPULSE_SERVING_ADMISSION_FILE"] = str(CONTAINER_ADMISSION_FILE)
        env["BENTOML_PORT"] = self._upstream(color).rsplit(":", 1)[1]
        return ContainerSpec(
            name=self._container_name(color),
            image=image,
            env=env,
            labels={OWNER_LABEL: "bento", f"{OWNER_LABEL}.color": color, f"{OWNER_LABEL}.version": version},
            networks=list(self.settings.rollout_networks),
            stop_timeout=self.settings.rollout_stop_timeout_seconds,
        )

    def _running(self, container: str) -> bool:
        found = self.engine.inspect(container)
        return bool(found and found["State"]["Running"])

    def _wait_ready(self, name: str, upstream: str) -> None:
        deadline = time.monotonic() + self.settings.rollout_ready_timeout_seconds
        last = "no answer"
        with httpx.Client(timeout=5, trust_env=False) as client:
            while time.monotonic() < deadline:
                found = self.engine.inspect(name)
                # Its restart policy restarts a crashed one: the first crash is the verdict.
                if found is None or found["State"]["Status"] in {"exited", "dead"} or found["RestartCount"]:
                    logs = self.engine.logs(name) if found is not None else ""
                    raise RolloutError(f"container {name} exited before it was ready:\n{logs}")
                try:
                    response = client.get(f"http://{upstream}/readyz")
                    if response.status_code == 200:
                        return
                    last = f"/readyz {response.status_code} {response.text[:300]}"
                except httpx.TransportError as failed:
                    last = f"/readyz: {failed!r}"
                time.sleep(0.5)
        raise RolloutError(
            f"not ready within {self.settings.rollout_ready_timeout_seconds:g} s ({last}):\n"
            f"{self.engine.logs(name)}"
        )

    def _smoke(self, color: Color, upstream: str) -> None:
        """One real answer of every symbol the new version serves a champion for: a model loaded, features
        readable, not stale. A configured symbol no model has passed the gate for yet is not served (the
        export packages the champions there are), so it is not asked for. The requests carry a key issued
        for this check alone and revoked after it, however it ends."""
        with (
            self._smoke_key(color) as token,
            httpx.Client(timeout=10, trust_env=False, headers={KEY_HEADER: token}) as client,
        ):
            served = client.get(f"http://{upstream}/models/status")
            if served.status_code != 200:
                raise RolloutError(f"smoke /models/status: {served.status_code} {served.text[:300]}")
            pairs = sorted(
                {(m["symbol"], m["timeframe"]) for m in served.json()["models"] if m["role"] == "champion"}
            )
            if not pairs:
                raise RolloutError("smoke /models/status: the new version serves no champion")
            for symbol, timeframe in pairs:
                body = {"symbol": symbol, "timeframe": timeframe}
                response = client.post(f"http://{upstream}/signal", json=body)
                if response.status_code != 200 or "model" not in response.json():
                    raise RolloutError(
                        f"smoke /signal {symbol}: {response.status_code} {response.text[:300]}"
                    )

    @contextlib.contextmanager
    def _smoke_key(self, color: Color) -> Iterator[str]:
        """The token of ``rollout-smoke-<colour>``, a key in the store the Bento reads (the deployer's
        ``database_url``), revoked when the block ends. One such key a killed deployer left active is
        revoked first: the name is the deployer's own."""
        name = f"rollout-smoke-{color}"
        store = make_engine(self.settings.database_url)
        try:
            with contextlib.suppress(AccessKeyError):
                revoke_key(store, name)
            with temporary_key(store, name, SMOKE_SCOPES) as issued:
                yield issued.token
        except (SQLAlchemyError, AccessKeyError) as failed:
            raise RolloutError(f"smoke key {name}: {str(failed)[:500]}") from failed
        finally:
            store.dispose()

    def _admit(self, container: str) -> None:
        self._exec_in(container, ["touch", str(CONTAINER_ADMISSION_FILE)])

    def _withdraw(self, container: str) -> None:
        self._exec_in(container, ["rm", "-f", str(CONTAINER_ADMISSION_FILE)])

    def _exec_in(self, container: str, command: list[str]) -> None:
        code, output = self.engine.exec(container, command)
        if code != 0:
            raise RuntimeError(f"{' '.join(command)} in {container} exited {code}: {output[-500:]}")

    def _record(self, operation: Operation) -> None:
        self.state.last = operation
        save_state(self.state, self.state_file)

    def _finish(self, operation: Operation, outcome: Outcome, detail: str) -> Operation:
        log.info("%s to %s: %s: %s", operation.kind, operation.version, outcome, detail)
        operation.outcome = outcome
        operation.detail = detail
        operation.finished_at = datetime.now(UTC)
        self._record(operation)
        return operation

    def snapshot(self) -> DeployState:
        return self.state.model_copy(deep=True)

    def scrape_targets(self) -> list[dict[str, Any]]:
        """The Bento containers running now, in Prometheus's HTTP service discovery format: a colour is
        scraped from its start until its removal, and never after (a DNS lookup of a removed colour's
        name fails, and Prometheus would keep scraping its last address, down, for good)."""
        active = self.state.active
        groups = []
        colors: tuple[Color, ...] = get_args(Color)
        for color in colors:
            found = self.engine.inspect(self._container_name(color))
            if found is None or not found["State"]["Running"]:
                continue
            labels = found.get("Config", {}).get("Labels") or {}
            serving = active is not None and active.color == color
            groups.append(
                {
                    "targets": [self._upstream(color)],
                    "labels": {
                        "colour": color,
                        "bento_tag": labels.get(f"{OWNER_LABEL}.version", ""),
                        "serving": str(serving).lower(),
                    },
                }
            )
        return groups


def _chunks(handle: IO[bytes], size: int = 1 << 20) -> Iterator[bytes]:
    while chunk := handle.read(size):
        yield chunk
