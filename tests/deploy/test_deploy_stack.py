"""cloud-init, Terraform and Compose agree with each other, and the stack's scripts work.

The cloud-init user data is rendered by the real Terraform (`terraform console` on the
provider-free cloud-init module, fed with the same file list, data directories and .env
keys as terraform/envs/prod), then read back as YAML.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_support import CLOUD_INIT_MODULE, DEPLOY, MODULES, REPO, load_hcl_dir, locals_of

from alphapulse.rollout.deployer import OWNER_LABEL

DOCS = REPO / "docs" / "DEPLOY.md"
HETZNER_USER_DATA_LIMIT = 32 * 1024
# A syntactically valid bcrypt hash (of nothing in particular): '$' must survive the .env.
FAKE_BCRYPT = "$2a$14$" + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0"


def _compose_mounts(compose: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(service, source, target) of every bind mount."""
    mounts = []
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            # The source may itself contain ':' inside ${VAR:?message}.
            match = re.fullmatch(r"((?:\$\{[^}]*\})?[^:]*):([^:]+)(?::\w+)?", volume)
            assert match, f"{name}: cannot parse volume {volume!r}"
            mounts.append((name, match.group(1), match.group(2)))
    return mounts


# --- secrets: compose <-> .env.example <-> DEPLOY.md <-> Terraform ---------------------------


def test_every_compose_variable_is_in_env_example(
    compose_variables: set[str], env_example: dict[str, str]
) -> None:
    assert compose_variables <= set(env_example), (
        f"undocumented: {sorted(compose_variables - set(env_example))}"
    )
    assert set(env_example) <= compose_variables, f"stale: {sorted(set(env_example) - compose_variables)}"


def test_every_compose_variable_is_documented_in_deploy_md(compose_variables: set[str]) -> None:
    text = DOCS.read_text()
    missing = sorted(v for v in compose_variables if not re.search(rf"`{v}`", text))
    assert not missing, f"docs/DEPLOY.md does not document: {missing}"


def test_terraform_renders_every_compose_variable(
    compose_variables: set[str], prod_locals: dict[str, Any]
) -> None:
    rendered = set(prod_locals["stack_env"])
    assert rendered == compose_variables, (
        f"missing: {sorted(compose_variables - rendered)}, extra: {sorted(rendered - compose_variables)}"
    )


def test_env_file_is_gitignored() -> None:
    ignore = (REPO / ".gitignore").read_text().splitlines()
    assert "deploy/.env" in ignore or ".env" in ignore


# --- files: compose <-> cloud-init inputs -----------------------------------------------------


def test_every_bind_mounted_file_is_provisioned(compose: dict[str, Any], prod_locals: dict[str, Any]) -> None:
    stack_files = set(prod_locals["stack_files"])
    for path in stack_files:
        assert (DEPLOY / path).is_file(), f"deploy/{path} is listed but missing"
    for service, source, _ in _compose_mounts(compose):
        if not source.startswith("./"):
            continue
        mounted = DEPLOY / source[2:]
        # A mounted directory: every file a service reads from it (its rule tests are CI's, not the server's).
        read = (
            [str(f.relative_to(DEPLOY)) for f in mounted.rglob("*") if f.is_file() and "tests" not in f.parts]
            if mounted.is_dir()
            else [source[2:]]
        )
        assert read, f"{service} mounts {source}, which holds nothing"
        missing = sorted(set(read) - stack_files)
        assert not missing, f"{service} mounts {source}; cloud-init does not write {missing}"


def test_every_data_directory_is_created_for_its_container_user(
    compose: dict[str, Any], prod_locals: dict[str, Any]
) -> None:
    data_dirs = prod_locals["data_dirs"]
    used = set()
    for service, source, _ in _compose_mounts(compose):
        match = re.fullmatch(r"\$\{ALPHAPULSE_DATA_DIR[^}]*\}/(.+)", source)
        if not match:
            continue
        used.add(match.group(1))
        assert match.group(1) in data_dirs, f"{service}: {source} is not created by cloud-init"
        assert data_dirs[match.group(1)] == compose["services"][service]["user"], (
            f"{service} runs as {compose['services'][service]['user']} but {source} is owned by "
            f"{data_dirs[match.group(1)]}"
        )
    assert used == set(data_dirs)


def test_systemd_unit_matches_the_cloud_init_layout() -> None:
    unit = (DEPLOY / "systemd" / "alphapulse.service").read_text()
    variables = load_hcl_dir(CLOUD_INIT_MODULE)["variable"]
    defaults = {name: body.get("default") for block in variables for name, body in block.items()}
    compute_locals = locals_of(load_hcl_dir(MODULES / "compute"))
    assert f"User={defaults['deploy_user']}\n" in unit
    assert f"WorkingDirectory={defaults['stack_dir']}\n" in unit
    assert f"RequiresMountsFor={compute_locals['data_dir']}\n" in unit
    assert "ExecStart=/usr/bin/docker compose up -d" in unit
    stops = [line for line in unit.splitlines() if line.startswith("ExecStop=")]
    assert f"--filter label={OWNER_LABEL}" in stops[0], "the deployer's Bento containers stop first"
    assert stops[-1] == "ExecStop=/usr/bin/docker compose down"


# --- the rendered cloud-init ------------------------------------------------------------------


def _hcl_string(value: str) -> str:
    return (
        '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("${", "$${").replace("%{", "%%{") + '"'
    )


@pytest.fixture(scope="module")
def rendered(
    tf_init: Any,
    tf_console: Any,
    prod_locals: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Any]:
    compute_locals = locals_of(load_hcl_dir(MODULES / "compute"))
    env = {key: f"value-of-{key.lower()}" for key in prod_locals["stack_env"]}
    env["UI_BASIC_AUTH_HASH"] = FAKE_BCRYPT
    env["ALPHAPULSE_IMAGE"] = "ghcr.io/acme/alphapulse:1.2.3"
    env["ALPHAPULSE_DATA_DIR"] = compute_locals["data_dir"]
    files = ", ".join(_hcl_string(f) for f in prod_locals["stack_files"])
    env_hcl = "\n".join(f"    {k} = {_hcl_string(v)}" for k, v in env.items())
    dirs_hcl = "\n".join(
        f"    {_hcl_string(k)} = {_hcl_string(v)}" for k, v in prod_locals["data_dirs"].items()
    )
    root = tmp_path_factory.mktemp("cloud-init-render")
    (root / "main.tf").write_text(
        f"""
module "cloud_init" {{
  source              = {_hcl_string(str(CLOUD_INIT_MODULE))}
  ssh_authorized_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITestKeyOnly test"]
  stack_files         = {{ for f in [{files}] : f => file("{DEPLOY}/${{f}}") }}
  systemd_unit        = file("{DEPLOY}/systemd/alphapulse.service")
  data_dir            = {_hcl_string(compute_locals["data_dir"])}
  volume_device       = "/dev/disk/by-id/scsi-0HC_Volume_4242"
  data_dirs = {{
{dirs_hcl}
  }}
  stack_env = {{
{env_hcl}
  }}
}}
"""
    )
    tf_init(root)
    out = tf_console(root, "base64encode(nonsensitive(module.cloud_init.user_data))")
    text = base64.b64decode(re.search(r'"([A-Za-z0-9+/=]+)"', out).group(1)).decode()
    return {"text": text, "yaml": yaml.safe_load(text), "env": env}


def _written(rendered: dict[str, Any]) -> dict[str, dict[str, Any]]:
    files = {}
    for entry in rendered["yaml"]["write_files"]:
        content = entry["content"]
        if entry.get("encoding") == "gz+b64":
            content = gzip.decompress(base64.b64decode(content)).decode()
        files[entry["path"]] = {**entry, "content": content}
    return files


def test_user_data_is_cloud_config_within_hetzner_limits(rendered: dict[str, Any]) -> None:
    assert rendered["text"].startswith("#cloud-config\n")
    assert len(rendered["text"].encode()) < HETZNER_USER_DATA_LIMIT


def test_cloud_init_installs_docker_and_creates_the_deploy_user(rendered: dict[str, Any]) -> None:
    config = rendered["yaml"]
    assert {"docker.io", "docker-compose-v2"} <= set(config["packages"])
    (user,) = config["users"]
    assert user["name"] == "deploy"
    assert user["uid"] == 1000
    assert "sudo" not in user, "the deploy user gets no sudo"
    assert config["ssh_pwauth"] is False
    assert ["usermod", "--append", "--groups", "docker", "deploy"] in config["runcmd"]


def test_cloud_init_writes_the_stack_exactly_as_in_the_repository(
    rendered: dict[str, Any], prod_locals: dict[str, Any]
) -> None:
    written = _written(rendered)
    for path in prod_locals["stack_files"]:
        entry = written[f"/opt/alphapulse/{path}"]
        assert entry["content"] == (DEPLOY / path).read_text(), path
        assert entry["owner"] == "deploy:deploy"
        assert entry["defer"] is True, "must run after the deploy user exists"
        assert entry["permissions"] == ("0755" if path.endswith(".sh") else "0644")
    unit = written["/etc/systemd/system/alphapulse.service"]
    assert unit["content"] == (DEPLOY / "systemd" / "alphapulse.service").read_text()


def test_cloud_init_env_file_is_private_and_complete(
    rendered: dict[str, Any], compose_variables: set[str]
) -> None:
    entry = _written(rendered)["/opt/alphapulse/.env"]
    assert entry["permissions"] == "0600"
    assert entry["owner"] == "deploy:deploy"
    values = dict(re.findall(r"^([A-Z][A-Z0-9_]*)='([^']*)'$", entry["content"], re.M))
    assert set(values) == compose_variables
    assert values["UI_BASIC_AUTH_HASH"] == FAKE_BCRYPT


def test_cloud_init_env_file_satisfies_compose(rendered: dict[str, Any], tmp_path: Path) -> None:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose (Debian package docker-compose) is not installed")
    env_file = tmp_path / ".env"
    env_file.write_text(_written(rendered)["/opt/alphapulse/.env"]["content"])
    result = subprocess.run(
        [binary, "--env-file", str(env_file), "-f", str(DEPLOY / "docker-compose.yml"), "config"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    caddy_env = config["services"]["caddy"]["environment"]
    # docker-compose re-escapes '$' as '$$' in its output; the value itself is literal.
    assert caddy_env["UI_BASIC_AUTH_HASH"].replace("$$", "$") == FAKE_BCRYPT
    deployer_env = config["services"]["deployer"]["environment"]
    assert deployer_env["ALPHAPULSE_ROLLOUT_INITIAL_IMAGE"] == "ghcr.io/acme/alphapulse:1.2.3"
    bento_env = json.loads(deployer_env["ALPHAPULSE_ROLLOUT_BENTO_ENV"])
    assert bento_env["ALPHAPULSE_DATABASE_URL"].startswith("postgresql+psycopg://alphapulse:value-of-")


def test_cloud_init_mounts_the_volume_and_creates_data_dirs(
    rendered: dict[str, Any], prod_locals: dict[str, Any]
) -> None:
    runcmd = rendered["yaml"]["runcmd"]
    scripts = [c[2] for c in runcmd if isinstance(c, list) and c[:2] == ["sh", "-c"]]
    assert any("/dev/disk/by-id/scsi-0HC_Volume_4242" in s and "/etc/fstab" in s for s in scripts)
    for directory, owner in prod_locals["data_dirs"].items():
        uid, gid = owner.split(":")
        assert ["install", "-d", "-m", "0700", "-o", uid, "-g", gid, f"/srv/alphapulse/{directory}"] in runcmd


def test_cloud_init_starts_the_stack_last(rendered: dict[str, Any]) -> None:
    runcmd = rendered["yaml"]["runcmd"]
    assert runcmd[-1] == ["systemctl", "enable", "--now", "alphapulse.service"]
    assert runcmd.index(["systemctl", "daemon-reload"]) < len(runcmd) - 1


def test_cloud_init_gives_the_docker_group_the_gid_the_deployer_joins(rendered: dict[str, Any]) -> None:
    runcmd = rendered["yaml"]["runcmd"]
    regroup = runcmd.index(["groupmod", "--gid", rendered["env"]["DOCKER_GID"], "docker"])
    assert runcmd[regroup + 1] == ["systemctl", "restart", "docker.service"], "the socket is recreated"
    assert regroup < runcmd.index(["systemctl", "enable", "--now", "alphapulse.service"])


def test_cloud_init_volume_script_is_valid_shell(rendered: dict[str, Any], tmp_path: Path) -> None:
    for command in rendered["yaml"]["runcmd"]:
        if isinstance(command, list) and command[:2] == ["sh", "-c"]:
            script = tmp_path / "runcmd.sh"
            script.write_text(command[2])
            subprocess.run(["sh", "-n", str(script)], check=True)


# --- deploy/postgres/init-databases.sh against a real PostgreSQL ------------------------------


def _postgres_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(candidates[-1]) if candidates else None


@pytest.fixture
def throwaway_postgres() -> Iterator[dict[str, str]]:
    """A private PostgreSQL cluster on a unix socket, started for one test and stopped after it."""
    initdb, pg_ctl = _postgres_bin("initdb"), _postgres_bin("pg_ctl")
    if not (initdb and pg_ctl and shutil.which("psql")):
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    prefix: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run the server")
        prefix = ["runuser", "-u", "postgres", "--"]
    workdir = Path(tempfile.mkdtemp(prefix="ap-pg-", dir="/tmp"))
    workdir.chmod(0o755)
    if prefix:
        shutil.chown(workdir, "postgres", "postgres")
    data = workdir / "data"
    subprocess.run(
        [*prefix, initdb, "-D", str(data), "-U", "postgres", "-A", "trust"], check=True, capture_output=True
    )
    options = f"-c listen_addresses='' -k {workdir} -p 5499"
    subprocess.run(
        [*prefix, pg_ctl, "-D", str(data), "-o", options, "-l", str(workdir / "log"), "-w", "start"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    try:
        yield {"prefix": " ".join(prefix), "PGHOST": str(workdir), "PGPORT": "5499"}
    finally:
        subprocess.run(
            [*prefix, pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"], capture_output=True, timeout=60
        )
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.mark.integration
def test_init_script_creates_one_owned_database_per_consumer(throwaway_postgres: dict[str, str]) -> None:
    prefix = throwaway_postgres["prefix"].split()
    env = {
        "PATH": os.environ["PATH"],
        "PGHOST": throwaway_postgres["PGHOST"],
        "PGPORT": throwaway_postgres["PGPORT"],
        "POSTGRES_USER": "postgres",
        # Quotes in a password must not break (or inject into) the SQL.
        "POSTGRES_APP_PASSWORD": "app'; DROP ROLE postgres; --",
        "PREFECT_DB_PASSWORD": 'pre"fect',
        "MLFLOW_DB_PASSWORD": "mlflow-pw",
        "POSTGRES_MONITOR_PASSWORD": "monitor-pw",
    }
    script = DEPLOY / "postgres" / "init-databases.sh"
    env_args = [f"{k}={v}" for k, v in env.items()]
    subprocess.run(
        [*prefix, "env", *env_args, "sh", str(script)], check=True, capture_output=True, timeout=60
    )

    def psql(query: str) -> str:
        return subprocess.run(
            [*prefix, "env", *env_args, "psql", "-U", "postgres", "-d", "postgres", "-Atc", query],
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.strip()

    owners = psql(
        "select datname || ':' || pg_get_userbyid(datdba) from pg_database "
        "where datname in ('alphapulse','prefect','mlflow') order by 1"
    )
    assert owners.split() == ["alphapulse:alphapulse", "mlflow:mlflow", "prefect:prefect"]
    assert psql("select rolname from pg_roles where rolname='postgres'") == "postgres"
    monitoring = psql(
        "select pg_has_role('monitoring', 'pg_monitor', 'member'), rolsuper from pg_roles "
        "where rolname = 'monitoring'"
    )
    assert monitoring == "t|f", "the exporter's role: statistics, not a superuser"


# --- deploy/scripts/rollout.sh with a stand-in `docker` ---------------------------------------
# The script only hands the request to the deployer (which the container tests run for real); what
# is checked here is that it finds Compose v2 or v1 and passes the right command.

_FAKE_DOCKER_V2 = """#!/bin/sh
echo "docker $*" >> calls.log
exit 0
"""
_FAKE_DOCKER_V1 = """#!/bin/sh
# A docker CLI without the compose plugin.
if [ "$1" = "compose" ]; then echo "docker: 'compose' is not a docker command." >&2; exit 1; fi
exit 0
"""
_FAKE_COMPOSE_V1 = """#!/bin/sh
echo "docker-compose $*" >> calls.log
exit 0
"""


def _stack_dir(tmp_path: Path, tools: dict[str, str]) -> Path:
    (tmp_path / "scripts").mkdir()
    shutil.copy(DEPLOY / "scripts" / "rollout.sh", tmp_path / "scripts" / "rollout.sh")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in tools.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    return tmp_path


def _rollout(stack_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(stack_dir / "scripts" / "rollout.sh"), *args],
        cwd=stack_dir,
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": f"{stack_dir / 'bin'}:/bin"},
    )


def _calls(stack_dir: Path) -> list[str]:
    return [line for line in (stack_dir / "calls.log").read_text().splitlines() if " exec " in line]


def test_rollout_asks_the_deployer_through_compose_v2(tmp_path: Path) -> None:
    stack = _stack_dir(tmp_path, {"docker": _FAKE_DOCKER_V2})
    result = _rollout(stack, "alphapulse:v3-fs1-20261202t101500")
    assert result.returncode == 0, result.stderr
    assert _calls(stack) == [
        "docker compose exec -T deployer alphapulse deploy rollout alphapulse:v3-fs1-20261202t101500"
    ]


def test_rollback_and_status_through_compose_v1(tmp_path: Path) -> None:
    stack = _stack_dir(tmp_path, {"docker": _FAKE_DOCKER_V1, "docker-compose": _FAKE_COMPOSE_V1})
    assert _rollout(stack, "--previous").returncode == 0
    assert _rollout(stack, "--status").returncode == 0
    assert _calls(stack) == [
        "docker-compose exec -T deployer alphapulse deploy rollback",
        "docker-compose exec -T deployer alphapulse deploy status",
    ]


def test_rollout_without_a_version_shows_the_usage(tmp_path: Path) -> None:
    stack = _stack_dir(tmp_path, {"docker": _FAKE_DOCKER_V2})
    result = _rollout(stack)
    assert result.returncode == 2
    assert "usage:" in result.stderr
