"""`alphapulse run` as a user runs it: the whole pipeline on the embedded defaults, twice."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.processes import clean_environment

BIN = Path(sys.executable).parent
API_STARTED = re.compile(r"Prefect local API \S+ started in ([0-9.]+) s")

pytestmark = pytest.mark.e2e


def run_pipeline(workdir: Path, *options: str) -> tuple[subprocess.CompletedProcess[str], float]:
    env = clean_environment()
    started = time.perf_counter()
    result = subprocess.run(
        [str(BIN / "alphapulse"), "run", *options],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    return result, time.perf_counter() - started


def state(home: Path) -> dict[str, int]:
    """Row counts that a second run must leave alone (store and MLflow)."""
    counts = {}
    with sqlite3.connect(home / "alphapulse.db") as app:
        for table in ("candles", "news_items", "quality_findings", "feature_sets"):
            counts[table] = app.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    with sqlite3.connect(home / "mlflow.db") as mlflow:
        counts["mlflow_runs"] = mlflow.execute("SELECT count(*) FROM runs").fetchone()[0]
        counts["model_versions"] = mlflow.execute("SELECT count(*) FROM model_versions").fetchone()[0]
    return counts


def test_run_twice_second_is_cached_and_changes_nothing(tmp_path: Path) -> None:
    first, first_seconds = run_pipeline(tmp_path)
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-4000:]
    home = tmp_path / ".alphapulse"
    after_first = state(home)
    assert after_first["candles"] == 43_780
    assert after_first["feature_sets"] == 1
    assert after_first["model_versions"] == 1
    assert "out-of-sample walk-forward" in first.stdout
    assert "always_long" in first.stdout
    assert "gate window" in first.stdout
    for noise in ("Warning", "| WARNING |", "Timeout of", "feature names"):
        assert noise not in first.stdout + first.stderr, noise

    first_start = API_STARTED.search(first.stdout)
    assert first_start is not None, "the run starts (and awaits) its own local Prefect API"

    second, second_seconds = run_pipeline(tmp_path, "--json")
    assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-4000:]
    assert state(home) == after_first
    summary = json.loads(second.stdout)  # stdout is the JSON document and nothing else
    assert [trained["cached"] for trained in summary["training"]] == [True]
    assert summary["home"] == str(home.resolve())
    assert summary["candles_stored"] == 43_780
    assert set(summary["training"][0]["gate"]) == {"promote", "window", "reasons", "duels", "checks"}
    assert "always_long" in summary["training"][0]["evaluations"]
    print(
        f"alphapulse run: first {first_seconds:.1f} s, second {second_seconds:.1f} s; Prefect local API "
        f"started in {first_start.group(1)} s and {summary['prefect_api_startup_seconds']:.1f} s"
    )
