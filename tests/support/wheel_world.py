"""An AlphaPulse installed from its wheel into a fresh venv, outside the checkout, and a champion it trained.

Shared by the wheel, Bento and container tests (one install and one pipeline run per session; a plugin of
tests/conftest.py): the wheel is built
from a copy of the sources and installed with ``requirements.lock`` as constraints, and every command
runs with its working directory in a temporary folder and ``ALPHAPULSE_HOME`` pointing at another, as in
the worker image. Fresh venvs are filled by ``uv pip install``: pip keeps no cache of the registry's
downloads here (a fresh pip install took over ten minutes), uv's wheel cache makes a repeat a matter of
seconds. The durations are printed (``-s``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from alphapulse.settings import Settings
from alphapulse.training.registry import registered_name
from alphapulse.training.tracking import client
from tests.support.processes import clean_environment

REPO = Path(__file__).resolve().parents[2]
LOCK = REPO / "requirements.lock"
UV = str(Path(sys.executable).with_name("uv"))
#: What the wheel is built from: the project's metadata and its three packages.
SOURCES = ("pyproject.toml", "README.md", "src", "flows", "bentos")


@dataclass
class Installed:
    root: Path
    venv: Path
    wheel: Path
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def env(self, **variables: str) -> dict[str, str]:
        """A child environment with this venv first on PATH and none of the caller's tool settings."""
        base = clean_environment(**variables)
        base.pop("PYTHONPATH", None)
        base.pop("VIRTUAL_ENV", None)
        return {**base, "PATH": f"{self.bin}:{base.get('PATH', '')}"}


@dataclass(frozen=True)
class World:
    """A home trained by ``alphapulse run`` from the wheel, its champion promoted."""

    installed: Installed
    home: Path
    workdir: Path
    run: subprocess.CompletedProcess[str]

    def env(self, **variables: str) -> dict[str, str]:
        return self.installed.env(ALPHAPULSE_HOME=str(self.home), **variables)

    def alphapulse(
        self, *args: str, timeout: float = 900, **variables: str
    ) -> subprocess.CompletedProcess[str]:
        return run(
            [str(self.installed.bin / "alphapulse"), *args], self.workdir, self.env(**variables), timeout
        )


@dataclass(frozen=True)
class Release:
    """A Bento built by the release path (``alphapulse model bento --lock requirements.lock``)."""

    tag: str
    output: str
    seconds: float

    @property
    def version(self) -> str:
        return self.tag.split(":", 1)[1]


def build_release(world: World, **variables: str) -> Release:
    """What .github/workflows/release.yml runs, from the wheel install, on the world's champion."""
    tag_file = world.installed.root / "bento-tag"
    started = time.perf_counter()
    result = checked(
        world.alphapulse("model", "bento", "--lock", str(LOCK), "--tag-file", str(tag_file), **variables)
    )
    seconds = time.perf_counter() - started
    return Release(tag=tag_file.read_text().strip(), output=result.stdout, seconds=seconds)


def run(
    command: list[str], cwd: Path, env: dict[str, str], timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def checked(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, f"{result.args}:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("wheel-install")
    source = root / "source"
    for name in SOURCES:
        origin = REPO / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            source.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, source / name)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    checked(
        run(
            [*pip, "wheel", "--no-deps", "-q", "-w", str(root / "dist"), str(source)],
            root,
            clean_environment(),
        )
    )
    timings["wheel build"] = time.perf_counter() - started
    (wheel,) = (root / "dist").glob("alphapulse-*.whl")
    venv = root / "venv"
    started = time.perf_counter()
    new_venv(venv, root)
    install(venv, root, f"alphapulse[pipeline] @ {wheel.as_uri()}")
    timings["venv + install"] = time.perf_counter() - started
    return Installed(root=root, venv=venv, wheel=wheel, seconds=timings)


def new_venv(venv: Path, cwd: Path) -> None:
    checked(run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd, clean_environment()))


def install(venv: Path, cwd: Path, *requirements: str) -> None:
    """``uv pip install`` into ``venv``, constrained by the lock."""
    command = [UV, "pip", "install", "-q", "--compile-bytecode", "--python", str(venv / "bin" / "python")]
    command += ["-c", str(LOCK)]
    checked(run([*command, *requirements], cwd, clean_environment(), 1800))


@pytest.fixture(scope="session")
def world(installed: Installed) -> Iterator[World]:
    """``alphapulse run`` from the wheel, then the one trained version crowned by hand (the gate refuses
    the honest bundled data, rightly; a Bento needs a champion) and named challenger as well."""
    home = installed.root / "home"
    workdir = installed.root / "work"
    workdir.mkdir()
    started = time.perf_counter()
    # Prefect's ephemeral API takes about 23 s to start on a fresh home here (more on a loaded machine);
    # its default wait is 20 s.
    env = installed.env(ALPHAPULSE_HOME=str(home), PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="180")
    result = run([str(installed.bin / "alphapulse"), "run"], workdir, env)
    installed.seconds["alphapulse run"] = time.perf_counter() - started
    trained = World(installed=installed, home=home, workdir=workdir, run=checked(result))
    checked(trained.alphapulse("model", "promote", "--version", "1"))
    # The same version as challenger too, so the Bento carries a challenger (there is no CLI for that).
    registry = client(Settings(home=home))
    registry.set_registered_model_alias(registered_name("BTC/USDT", "1h"), "challenger", "1")
    yield trained
    print("; ".join(f"{step} {seconds:.0f} s" for step, seconds in installed.seconds.items()))
