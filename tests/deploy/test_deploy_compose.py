"""deploy/docker-compose.yml: valid Compose, and the operational rules the stack promises.

Validation runs twice: against the Compose specification's JSON schema (vendored in
compose-spec.json, from the compose-spec project, Apache-2.0), and, when Debian's
`docker-compose` is installed, with `docker-compose config`, which also interpolates the
variables from deploy/.env.example. Neither needs a Docker engine.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from deploy_support import DEPLOY

SCHEMA = Path(__file__).with_name("compose-spec.json")
ONE_SHOT = {"prefect-setup"}
OUR_IMAGES = {"ALPHAPULSE_IMAGE", "ALPHAPULSE_RUNTIME_IMAGE", "ALPHAPULSE_OBSERVABILITY_IMAGE"}


def _services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def test_compose_file_matches_the_compose_specification_schema(compose: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft201909Validator(schema)
    errors = sorted(validator.iter_errors(compose), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_schema_check_is_not_vacuous(compose: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(compose))
    broken["services"]["caddy"]["restart_policy"] = "always"  # not a Compose key
    schema = json.loads(SCHEMA.read_text())
    assert list(jsonschema.Draft201909Validator(schema).iter_errors(broken))


def _docker_compose() -> str:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose (Debian package docker-compose) is not installed")
    return binary


def _compose_config(env_file: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_docker_compose(), "--env-file", str(env_file), "-f", str(DEPLOY / "docker-compose.yml"), "config"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )


def test_docker_compose_config_accepts_the_documented_env(tmp_path: Path) -> None:
    result = _compose_config(DEPLOY / ".env.example", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "ghcr.io/OWNER/alphapulse:0.1.0" in result.stdout, "ALPHAPULSE_IMAGE was not interpolated"


def test_docker_compose_config_refuses_a_missing_secret(tmp_path: Path) -> None:
    lines = (DEPLOY / ".env.example").read_text().splitlines()
    partial = tmp_path / "partial.env"
    partial.write_text("\n".join(line for line in lines if not line.startswith("MLFLOW_DB_PASSWORD=")) + "\n")
    result = _compose_config(partial, tmp_path)
    assert result.returncode != 0
    assert "MLFLOW_DB_PASSWORD" in result.stderr


def test_every_long_running_service_restarts_and_has_a_healthcheck(compose: dict[str, Any]) -> None:
    for name, service in _services(compose).items():
        if name in ONE_SHOT:
            assert service["restart"] == "no", f"{name} runs once"
            continue
        assert service["restart"] in {"unless-stopped", "always"}, name
        test = service.get("healthcheck", {}).get("test")
        assert test, f"{name} has no healthcheck"
        assert test[0] in {"CMD", "CMD-SHELL"}, f"{name}: healthcheck {test!r}"


def test_every_service_runs_as_a_non_root_user(compose: dict[str, Any]) -> None:
    for name, service in _services(compose).items():
        user = str(service.get("user", ""))
        assert user, f"{name} does not set a user"
        assert user.split(":")[0] not in {"0", "root"}, f"{name} runs as root"
        assert "no-new-privileges:true" in service.get("security_opt", []), name
        assert service.get("cap_drop") == ["ALL"], f"{name} keeps default capabilities"


def test_only_caddy_publishes_ports(compose: dict[str, Any]) -> None:
    published = {name for name, service in _services(compose).items() if service.get("ports")}
    assert published == {"caddy"}
    # With the production defaults of the overridable addresses (a dry run publishes on loopback).
    ports = {re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", port) for port in _services(compose)["caddy"]["ports"]}
    assert ports == {"80:80", "443:443", "443:443/udp"}


def test_database_is_on_an_internal_network_only(compose: dict[str, Any]) -> None:
    assert compose["networks"]["backend"]["internal"] is True
    assert _services(compose)["postgres"]["networks"] == ["backend"]
    assert _services(compose)["redis"]["networks"] == ["backend"], "the rate-limit counts too"
    assert "backend" not in _services(compose)["caddy"]["networks"], "the proxy never needs the database"


def test_images_are_pinned_or_come_from_the_release(compose: dict[str, Any]) -> None:
    for name, service in _services(compose).items():
        image = service["image"]
        variable = re.fullmatch(r"\$\{([A-Z_]+):\?[^}]*\}", image)
        if variable:
            assert variable.group(1) in OUR_IMAGES, f"{name}: unexpected image variable"
            continue
        # A third-party image a test may replace; its default is what production runs.
        override = re.fullmatch(r"\$\{([A-Z_]+_IMAGE):-([^}]+)\}", image)
        if override:
            image = override.group(2)
        assert ":" in image, f"{name}: {image} has no tag"
        tag = image.rsplit(":", 1)[1]
        assert tag != "latest", f"{name}: {image} floats"
        assert re.match(r"\d", tag), f"{name}: {image} is not pinned to a version"
        assert "build" not in service, f"{name}: the server never builds images"


def test_secrets_only_come_from_the_env_file(compose: dict[str, Any]) -> None:
    secretish = re.compile(r"(PASSWORD|SECRET|TOKEN|API_KEY|HASH|DATABASE_URL|BACKEND_STORE_URI)")
    for name, service in _services(compose).items():
        for key, value in (service.get("environment") or {}).items():
            if secretish.search(key):
                assert "${" in str(value), f"{name}.{key} is a literal"
        assert "env_file" not in service, f"{name}: pass only the variables a service needs"


def test_caddy_mounts_the_repository_caddyfile_read_only(compose: dict[str, Any]) -> None:
    volumes = _services(compose)["caddy"]["volumes"]
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in volumes


def test_two_workers_serve_the_hetzner_process_pool(compose: dict[str, Any]) -> None:
    workers = [s for name, s in _services(compose).items() if name.startswith("prefect-worker")]
    assert len(workers) == 2
    for worker in workers:
        command = worker["command"]
        assert command[:3] == ["prefect", "worker", "start"]
        assert command[command.index("--pool") + 1] == "hetzner-process"
        assert command[command.index("--type") + 1] == "process"


def test_image_overrides_are_documented(compose: dict[str, Any]) -> None:
    text = (DEPLOY.parent / "docs" / "DEPLOY.md").read_text()
    overrides = {
        match
        for service in _services(compose).values()
        for match in re.findall(r"\$\{([A-Z_]+):-", service["image"])
    }
    assert overrides == {"POSTGRES_IMAGE", "CADDY_IMAGE", "GRAFANA_IMAGE", "REDIS_IMAGE"}
    for variable in overrides:
        assert f"`{variable}`" in text, variable


def test_mlflow_uses_postgres_and_s3(compose: dict[str, Any]) -> None:
    env = _services(compose)["mlflow"]["environment"]
    assert env["MLFLOW_BACKEND_STORE_URI"].startswith("postgresql")
    assert env["MLFLOW_ARTIFACTS_DESTINATION"].startswith("s3://")
    assert "--serve-artifacts" in _services(compose)["mlflow"]["command"]


def test_postgres_creates_the_three_databases_on_first_start(compose: dict[str, Any]) -> None:
    mounts = _services(compose)["postgres"]["volumes"]
    assert any(m.startswith("./postgres/init-databases.sh:/docker-entrypoint-initdb.d/") for m in mounts)
    script = (DEPLOY / "postgres" / "init-databases.sh").read_text()
    for database in ("alphapulse", "prefect", "mlflow"):
        assert f"create_db {database} " in script


def test_only_the_deployer_holds_the_docker_socket(compose: dict[str, Any]) -> None:
    holders = {
        name
        for name, service in _services(compose).items()
        if any("docker.sock" in volume for volume in service.get("volumes", []))
    }
    assert holders == {"deployer"}
    deployer = _services(compose)["deployer"]
    assert "ports" not in deployer, "its API is for the stack's networks only"
    assert "ALPHAPULSE_DEPLOYER_TOKEN" in deployer["environment"]


def test_caddy_proxies_to_both_colours_the_deployer_starts(compose: dict[str, Any]) -> None:
    """The switch needs no shared file and no reload: Caddy names both containers the deployer may start
    (on a network they share) and follows their admission by health check."""
    from alphapulse.rollout.deployer import BENTO_PORT
    from alphapulse.settings import Settings

    prefix = Settings.model_fields["rollout_container_prefix"].default
    caddyfile = (DEPLOY / "Caddyfile").read_text()
    for colour in ("blue", "green"):
        assert f"{{$BENTO_{colour.upper()}:{prefix}-{colour}:{BENTO_PORT}}}" in caddyfile
    assert "health_uri /admitted" in caddyfile
    services = _services(compose)
    networks = json.loads(services["deployer"]["environment"]["ALPHAPULSE_ROLLOUT_NETWORKS"])
    edge = compose["networks"]["edge"]["name"]
    assert edge in networks, "the Bento containers join Caddy's network"
    assert not any("upstream" in volume for volume in services["caddy"].get("volumes", []))


def _default(value: str) -> str:
    """A value with its overridable parts at their production defaults."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def test_the_bento_counts_limits_in_redis_and_trusts_only_caddys_forwarded_for(
    compose: dict[str, Any],
) -> None:
    """Every worker of every colour counts a key's requests against one budget (Redis), and the client
    address the wrong-key budget counts is the one Caddy names: Caddy's fixed address on the edge
    network, which no other container can be given (dynamic addresses come from the upper half)."""
    import ipaddress

    services = _services(compose)
    bento_env = json.loads(_default(services["deployer"]["environment"]["ALPHAPULSE_ROLLOUT_BENTO_ENV"]))
    assert bento_env["ALPHAPULSE_SERVING_LIMITS_STORAGE"] == "redis://redis:6379/0"
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    assert services["redis"].get("read_only") is True
    assert "ports" not in services["redis"]
    (ipam,) = compose["networks"]["edge"]["ipam"]["config"]
    subnet, dynamic = (
        ipaddress.ip_network(_default(ipam["subnet"])),
        ipaddress.ip_network(_default(ipam["ip_range"])),
    )
    caddy = ipaddress.ip_address(_default(services["caddy"]["networks"]["edge"]["ipv4_address"]))
    (trusted,) = bento_env["ALPHAPULSE_SERVING_TRUSTED_PROXIES"].split(",")
    assert ipaddress.ip_network(trusted) == ipaddress.ip_network(f"{caddy}/32")
    assert caddy in subnet
    assert dynamic.subnet_of(subnet)  # type: ignore[arg-type]
    assert caddy not in dynamic, "no other container can be given Caddy's address"


def test_the_deployer_issues_its_smoke_key_in_the_store_the_bento_reads(compose: dict[str, Any]) -> None:
    deployer = _services(compose)["deployer"]
    bento_env = json.loads(_default(deployer["environment"]["ALPHAPULSE_ROLLOUT_BENTO_ENV"]))
    assert deployer["environment"]["ALPHAPULSE_DATABASE_URL"] == bento_env["ALPHAPULSE_DATABASE_URL"]
    assert "backend" in deployer["networks"]


def test_no_service_gets_the_retired_admin_key() -> None:
    """Admin is a scope of the API keys in the store now (alphapulse keys create --scope admin)."""
    for path in (
        DEPLOY / "docker-compose.yml",
        DEPLOY / "docker-compose.dryrun.yml",
        DEPLOY / ".env.example",
    ):
        assert "ADMIN_API_KEY" not in path.read_text(), path
