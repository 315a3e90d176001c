"""prefect.yaml for real: a Prefect server, the work pool, `prefect deploy --all`, a process worker.

Flow runs execute in worker subprocesses against a throwaway PostgreSQL database; every server and
worker started here is stopped by PID (process group) when the test ends.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from sqlalchemy import func, select

from alphapulse.settings import Settings
from alphapulse.store import CANDLES, FEATURE_SETS, make_engine, upgrade, upsert
from alphapulse.store.queries import load_candles
from tests.conftest import throwaway_database
from tests.support.processes import free_port, http_ok, running, wait_until
from tests.support.webhook import webhook_receiver

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
EXPECTED_DEPLOYMENTS = {
    "ingest-candles/ingest-candles",
    "ingest-news/ingest-news",
    "build-features/build-features",
    "train-and-promote/train-and-promote",
    "export-champion/export-champion",
    "monitor/monitor",
    "pipeline/pipeline",
}
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
RECENT_BARS = int(Settings.model_fields["drift_recent_bars"].default)

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


@dataclass(frozen=True)
class Stack:
    api: str
    env: dict[str, str]
    database_url: str
    root: Path
    alerts: list[str]

    def cli(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "prefect"), *args],
            env=self.env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def flow_runs(self, deployment: str) -> list[dict[str, Any]]:
        flow_name, deployment_name = deployment.split("/")
        wanted = {
            "flows": {"name": {"any_": [flow_name]}},
            "deployments": {"name": {"any_": [deployment_name]}},
        }
        found = httpx.post(f"{self.api}/deployments/filter", json=wanted)
        ids = [d["id"] for d in found.json()]
        runs = httpx.post(
            f"{self.api}/flow_runs/filter", json={"flow_runs": {"deployment_id": {"any_": ids}}}
        )
        return list(runs.json())


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, pg_server: str) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("prefect-e2e")
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    inherited = {
        k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "ALPHAPULSE_", "BENTOML_"))
    }
    with throwaway_database(pg_server) as database_url, webhook_receiver() as (hook, alerts):
        env = {
            **inherited,
            "PATH": f"{BIN}{os.pathsep}{inherited.get('PATH', '')}",
            "PREFECT_HOME": str(root / "prefect"),
            "PREFECT_API_URL": api,
            "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{root / 'prefect.db'}",
            "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_UI_ENABLED": "false",
            "ALPHAPULSE_HOME": str(root / "app"),
            "ALPHAPULSE_DATABASE_URL": database_url,
            "ALPHAPULSE_WORKDIR": str(REPO),
            "ALPHAPULSE_ALERT_WEBHOOK_URL": hook,
        }
        server = [
            str(BIN / "prefect"),
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-ui",
        ]
        with running(server, env=env, log=root / "server.log"):
            wait_until(http_ok(f"{api}/health"), timeout=120, what="prefect server health")
            stack = Stack(api=api, env=env, database_url=database_url, root=root, alerts=alerts)
            setup = subprocess.run(
                [sys.executable, "-m", "flows.setup"],
                env=env,
                cwd=REPO,
                capture_output=True,
                text=True,
                check=False,
            )
            assert setup.returncode == 0, setup.stdout + setup.stderr
            assert "posted to the webhook" in setup.stdout
            deployed = stack.cli("--no-prompt", "deploy", "--all")
            assert deployed.returncode == 0, deployed.stdout + deployed.stderr
            yield stack


def test_every_deployment_is_registered_on_the_pool(stack: Stack) -> None:
    deployments = httpx.post(f"{stack.api}/deployments/filter", json={}).json()
    flows = {f["id"]: f["name"] for f in httpx.post(f"{stack.api}/flows/filter", json={}).json()}
    names = {f"{flows[d['flow_id']]}/{d['name']}" for d in deployments}
    assert names >= EXPECTED_DEPLOYMENTS
    assert {d["work_pool_name"] for d in deployments} == {"hetzner-process"}
    schedules = {d["name"]: [s["schedule"].get("cron") for s in d["schedules"]] for d in deployments}
    assert schedules["ingest-candles"] == ["5 * * * *"]
    assert schedules["ingest-news"] == ["*/15 * * * *"]


def test_ingestion_and_feature_deployments_complete_on_a_worker(stack: Stack) -> None:
    worker = [str(BIN / "prefect"), "worker", "start", "--pool", "hetzner-process", "--limit", "2"]
    with running(worker, env=stack.env, log=stack.root / "worker.log", cwd=REPO):
        for deployment in ("ingest-candles/ingest-candles", "build-features/build-features"):
            result = stack.cli(
                "deployment", "run", deployment, "--watch", "--watch-timeout", "420", timeout=480
            )
            assert result.returncode == 0, (
                result.stdout + result.stderr + (stack.root / "worker.log").read_text()
            )
        # The candle run stored new bars: its alphapulse.candles.stored event triggers a second features
        # run; let it finish before stopping.
        wait_until(
            lambda: (
                len(stack.flow_runs("build-features/build-features")) >= 2
                and all(r["state_type"] in TERMINAL for r in stack.flow_runs("build-features/build-features"))
            ),
            timeout=300,
            what="the triggered build-features run",
        )
    for deployment in ("ingest-candles/ingest-candles", "build-features/build-features"):
        states = {run["state_type"] for run in stack.flow_runs(deployment)}
        assert states == {"COMPLETED"}, (deployment, states)
    engine = make_engine(stack.database_url)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(CANDLES)).scalar_one() == 43_780
        assert connection.execute(select(func.count()).select_from(FEATURE_SETS)).scalar_one() == 1
    engine.dispose()


def test_failed_flow_run_posts_to_the_alert_webhook(stack: Stack) -> None:
    worker = [str(BIN / "prefect"), "worker", "start", "--pool", "hetzner-process"]
    with running(worker, env=stack.env, log=stack.root / "worker-failure.log", cwd=REPO):
        failed = stack.cli(
            "deployment",
            "run",
            "ingest-news/ingest-news",
            "--param",
            'feeds=["/nonexistent/feed.rss"]',
            "--watch",
            "--watch-timeout",
            "180",
            timeout=240,
        )
    assert failed.returncode != 0
    assert {run["state_type"] for run in stack.flow_runs("ingest-news/ingest-news")} == {"FAILED"}
    wait_until(
        lambda: any("ingest-news" in body for body in stack.alerts), timeout=60, what="the failure webhook"
    )


def test_drift_event_starts_the_training_deployment(stack: Stack) -> None:
    """A last day with ten times the volatility drifts; the event's automation schedules training."""
    engine = make_engine(stack.database_url)
    upgrade(engine)
    upsert(engine, CANDLES, volatile_copy(load_candles(engine, "binance", "BTC/USDT", "1h").tail(3_000)))
    engine.dispose()
    before = len(stack.flow_runs("train-and-promote/train-and-promote"))
    monitored = subprocess.run(
        [str(BIN / "alphapulse"), "monitor", "--symbol", "DRIFT/USDT"],
        env=stack.env,
        cwd=stack.root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert monitored.returncode == 0, monitored.stdout + monitored.stderr
    assert "DETECTED" in monitored.stdout
    assert "retraining requested: sent alphapulse.drift.detected" in monitored.stdout
    wait_until(
        lambda: len(stack.flow_runs("train-and-promote/train-and-promote")) > before,
        timeout=120,
        what="a train-and-promote flow run created by the drift automation",
    )
    again = subprocess.run(
        [str(BIN / "alphapulse"), "monitor", "--symbol", "DRIFT/USDT"],
        env=stack.env,
        cwd=stack.root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert "DETECTED" in again.stdout
    assert "retraining throttled: last requested" in again.stdout  # the cooldown: nothing sent this time


def volatile_copy(candles: Any) -> list[dict[str, object]]:
    """The same bars under another symbol, with the moves of the drift check's current window (the last
    day by default) amplified tenfold."""
    closes = candles["close"].map(float).to_numpy()
    returns = np.diff(np.log(closes), prepend=np.log(closes[0]))
    returns[-RECENT_BARS:] *= 10
    rebuilt = closes[0] * np.exp(np.cumsum(returns))
    rows = []
    for (_, bar), close, previous in zip(
        candles.iterrows(), rebuilt, np.r_[rebuilt[0], rebuilt[:-1]], strict=True
    ):
        swing = abs(close - previous) + close * 0.002
        rows.append(
            {
                "exchange": "binance",
                "symbol": "DRIFT/USDT",
                "timeframe": "1h",
                "open_time": bar["open_time"].to_pydatetime(),
                "open": Decimal(f"{previous:.2f}"),
                "close": Decimal(f"{close:.2f}"),
                "high": Decimal(f"{max(previous, close) + swing:.2f}"),
                "low": Decimal(f"{min(previous, close) - swing:.2f}"),
                "volume": bar["volume"],
            }
        )
    return rows


REGISTER_TWO_VERSIONS = """
from pathlib import Path

from alphapulse.training.registry import make_champion, registered_name
from alphapulse.training.tracking import client

mlflow_client = client()
name = registered_name("EVENT/USDT", "1h")
mlflow_client.create_registered_model(name)
for _ in range(2):
    mlflow_client.create_model_version(name, source=str(Path.cwd() / "placeholder"), run_id=None)
make_champion(mlflow_client, name, "1")
"""


def test_manual_promote_and_rollback_start_the_export_deployment(stack: Stack) -> None:
    """A champion changed by hand reaches serving the same way as one the gate crowned: the event."""
    registered = subprocess.run(
        [sys.executable, "-c", REGISTER_TWO_VERSIONS],
        env=stack.env,
        cwd=stack.root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert registered.returncode == 0, registered.stdout + registered.stderr
    for command in (["promote", "--version", "2"], ["rollback"]):
        before = len(stack.flow_runs("export-champion/export-champion"))
        changed = subprocess.run(
            [str(BIN / "alphapulse"), "model", *command, "--symbol", "EVENT/USDT"],
            env=stack.env,
            cwd=stack.root,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert changed.returncode == 0, changed.stdout + changed.stderr
        wait_until(
            lambda before=before: len(stack.flow_runs("export-champion/export-champion")) > before,
            timeout=120,
            what=f"an export-champion flow run created by `alphapulse model {command[0]}`",
        )
