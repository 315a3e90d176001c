"""The few Docker Engine API calls the deployer makes, over the engine's unix socket.

Plain HTTP (httpx) rather than the docker CLI or SDK: the deployer's image needs no Docker binaries, and
the calls it can make are exactly the ones written here (images, its own Bento containers, one exec in
Caddy's container, a build). API paths are unversioned: the engine answers in its own current version.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx


class EngineError(RuntimeError):
    """The Docker engine refused a call; the message carries its own explanation."""


@dataclass(frozen=True)
class ContainerSpec:
    """What a Bento container is started with: the same hardening as every service of the compose file."""

    name: str
    image: str
    env: dict[str, str]
    labels: dict[str, str]
    networks: list[str] = field(default_factory=list)
    stop_timeout: int = 30

    def create_body(self) -> dict[str, Any]:
        host: dict[str, Any] = {
            "RestartPolicy": {"Name": "unless-stopped"},
            "SecurityOpt": ["no-new-privileges:true"],
            "CapDrop": ["ALL"],
            "LogConfig": {"Type": "json-file", "Config": {"max-size": "10m", "max-file": "5"}},
            "NetworkMode": self.networks[0] if self.networks else "host",
        }
        return {
            "Image": self.image,
            "Env": [f"{key}={value}" for key, value in sorted(self.env.items())],
            "Labels": self.labels,
            "StopTimeout": self.stop_timeout,
            "HostConfig": host,
        }


class DockerEngine:
    def __init__(self, socket: Path, *, timeout: float = 60.0) -> None:
        self.socket = socket
        self._client = httpx.Client(
            transport=httpx.HTTPTransport(uds=str(socket)), base_url="http://docker", timeout=timeout
        )

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.TransportError as failed:
            raise EngineError(f"Docker engine at {self.socket}: {failed}") from failed
        if response.status_code >= 400:
            try:
                message = response.json().get("message", response.text)
            except ValueError:
                message = response.text
            raise EngineError(f"{method} {path}: {response.status_code} {message}")
        return response

    def ping(self) -> None:
        self._call("GET", "/_ping")

    def image_exists(self, reference: str) -> bool:
        try:
            self._call("GET", f"/images/{reference}/json")
        except EngineError as missing:
            if " 404 " in str(missing):
                return False
            raise
        return True

    def pull(self, reference: str) -> None:
        """Pull from the image's registry; the progress stream reports failures in-band."""
        repository, tag = reference.rsplit(":", 1)
        with self._client.stream(
            "POST", "/images/create", params={"fromImage": repository, "tag": tag}, timeout=None
        ) as response:
            if response.status_code >= 400:
                raise EngineError(f"pull {reference}: {response.status_code} {response.read().decode()}")
            _raise_stream_errors(response.iter_lines(), f"pull {reference}")

    def build(
        self, context_tar: Iterator[bytes], reference: str, dockerfile: str, network: str | None
    ) -> None:
        params = {"t": reference, "dockerfile": dockerfile, "rm": "1", "forcerm": "1"}
        if network:
            params["networkmode"] = network
        with self._client.stream(
            "POST",
            "/build",
            params=params,
            content=context_tar,
            headers={"Content-Type": "application/x-tar"},
            timeout=None,
        ) as response:
            if response.status_code >= 400:
                raise EngineError(f"build {reference}: {response.status_code} {response.read().decode()}")
            _raise_stream_errors(response.iter_lines(), f"build {reference}")

    def inspect(self, name: str) -> dict[str, Any] | None:
        try:
            return dict(self._call("GET", f"/containers/{name}/json").json())
        except EngineError as missing:
            if " 404 " in str(missing):
                return None
            raise

    def run(self, spec: ContainerSpec) -> str:
        """Create and start a container; returns its id."""
        created = self._call(
            "POST", "/containers/create", params={"name": spec.name}, json=spec.create_body()
        )
        container = str(created.json()["Id"])
        for network in spec.networks[1:]:
            self._call("POST", f"/networks/{network}/connect", json={"Container": container})
        self._call("POST", f"/containers/{container}/start")
        return container

    def start(self, name: str) -> None:
        self._call("POST", f"/containers/{name}/start")

    def stop(self, name: str, timeout: int) -> None:
        # 304: already stopped.
        self._call("POST", f"/containers/{name}/stop", params={"t": timeout}, timeout=timeout + 30)

    def remove(self, name: str) -> None:
        self._call("DELETE", f"/containers/{name}", params={"force": "1"})

    def logs(self, name: str, tail: int = 60) -> str:
        raw = self._call(
            "GET", f"/containers/{name}/logs", params={"stdout": 1, "stderr": 1, "tail": tail}
        ).content
        return _demultiplex(raw)

    def exec(self, container: str, command: list[str], timeout: float = 120.0) -> tuple[int, str]:
        """Run a command in a running container; returns its exit code and output."""
        created = self._call(
            "POST",
            f"/containers/{container}/exec",
            json={"Cmd": command, "AttachStdout": True, "AttachStderr": True},
        )
        exec_id = created.json()["Id"]
        output = self._call(
            "POST", f"/exec/{exec_id}/start", json={"Detach": False, "Tty": False}, timeout=timeout
        ).content
        code = self._call("GET", f"/exec/{exec_id}/json").json()["ExitCode"]
        return int(code), _demultiplex(output)


def _raise_stream_errors(lines: Iterator[str], what: str) -> None:
    """Docker's pull/build streams answer 200 and report a failure as an ``error`` line."""
    tail: list[str] = []
    for line in lines:
        if not line.strip():
            continue
        message = json.loads(line)
        if "error" in message:
            raise EngineError(f"{what}: {message['error']}\n{''.join(tail[-20:])}")
        if "stream" in message:
            tail.append(message["stream"])


def _demultiplex(raw: bytes) -> str:
    """Docker's attach format without a TTY: 8-byte frame headers (stream, 0, 0, 0, size) before each
    chunk of output."""
    chunks = []
    while len(raw) >= 8:
        size = struct.unpack(">I", raw[4:8])[0]
        chunks.append(raw[8 : 8 + size])
        raw = raw[8 + size :]
    return b"".join(chunks).decode(errors="replace")
