"""Fixtures for the deployment tests: parsed Terraform/Compose files and real tool runners.

Nothing here is mocked: HCL is parsed with python-hcl2, Terraform expressions are evaluated by
the real `terraform console` (which needs no providers for the files it is given), and the proxy
test runs Debian's Caddy in front of a real `bentoml serve`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_support import DEPLOY, PROD, load_hcl_dir, locals_of

from tests.support.containers import Engine, cleanup, start_engine, stop_engine


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


@pytest.fixture(scope="session")
def compose_variables(compose: dict[str, Any]) -> set[str]:
    """Every ${VAR:?...} the compose file interpolates (what the .env must provide); comments excluded.
    ``${VAR:-default}`` ones are overrides with production defaults (tests set them), not .env entries."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(key)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, str):
            found.update(re.findall(r"\$\{([A-Z][A-Z0-9_]*):\?", node))

    walk(compose)
    return found


@pytest.fixture(scope="session")
def env_example() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in (DEPLOY / ".env.example").read_text().splitlines():
        match = re.match(r"^([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match:
            values[match.group(1)] = match.group(2).strip().strip("'")
    return values


@pytest.fixture(scope="session")
def prod() -> dict[str, list[Any]]:
    return load_hcl_dir(PROD)


@pytest.fixture(scope="session")
def prod_locals(prod: dict[str, list[Any]]) -> dict[str, Any]:
    return locals_of(prod)


@pytest.fixture(scope="session")
def terraform_bin() -> str:
    path = shutil.which("terraform")
    if path is None:
        pytest.skip("terraform is not installed (needed to evaluate HCL expressions offline)")
    return path


@pytest.fixture(scope="session")
def tf_console(terraform_bin: str, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., str]:
    """Evaluate an expression with `terraform console` in a given directory; returns the output.

    Raises AssertionError with Terraform's message when the evaluation fails, so callers can
    assert on validation errors with pytest.raises.
    """
    cli_config = tmp_path_factory.mktemp("tf-cli") / "terraformrc"
    cli_config.write_text("")

    def run(directory: Path, expression: str, *args: str) -> str:
        result = subprocess.run(
            [terraform_bin, "console", "-no-color", *args],
            cwd=directory,
            input=expression + "\n",
            capture_output=True,
            text=True,
            timeout=120,
            env={
                "PATH": "/usr/local/bin:/usr/bin:/bin",
                "TF_CLI_CONFIG_FILE": str(cli_config),
                "CHECKPOINT_DISABLE": "1",  # no version check over the network
            },
        )
        if result.returncode != 0 or "Error:" in result.stderr:
            raise AssertionError(result.stderr + result.stdout)
        return result.stdout

    return run


@pytest.fixture(scope="session")
def tf_init(terraform_bin: str) -> Callable[[Path], None]:
    """`terraform init -backend=false` for configurations made only of local modules (no downloads)."""

    def run(directory: Path) -> None:
        subprocess.run(
            [terraform_bin, "init", "-backend=false", "-input=false", "-no-color"],
            cwd=directory,
            check=True,
            capture_output=True,
            timeout=120,
            env={**os.environ, "CHECKPOINT_DISABLE": "1"},
        )

    return run


@pytest.fixture
def copy_module(tmp_path: Path) -> Callable[[Path, list[str]], Path]:
    """Copy some files of a module into a fresh directory (e.g. variables.tf without providers)."""

    def copy(source: Path, names: list[str]) -> Path:
        target = tmp_path / f"tf-{source.name}"
        target.mkdir(exist_ok=True)
        for name in names:
            shutil.copy(source / name, target / name)
        return target

    return copy


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[Engine]:
    """scripts/container-engine's engine; stopped at the end only if this session started it. Where no
    engine can run (no root to start one, no docker): a failure in CI, a skip on a developer's box."""
    try:
        engine = start_engine()
    except RuntimeError as error:
        if os.environ.get("CI"):
            pytest.fail(str(error))
        pytest.skip(str(error))
    cleanup(engine)
    try:
        yield engine
    finally:
        cleanup(engine)
        stop_engine(engine)
        print("container steps: " + "; ".join(f"{k} {v:.0f} s" for k, v in engine.seconds.items()))
