"""AlphaPulse from its wheel, as a worker image installs it: no checkout, nothing written outside the home."""

from __future__ import annotations

import sqlite3
import zipfile

import pytest

from tests.support.wheel_world import Installed, World, checked, run

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_the_wheel_carries_the_data_the_flows_the_service_and_the_migrations(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    assert "alphapulse/data/ohlcv/binance_btcusdt_1h_2020-10_2025-10.csv.gz" in names
    assert "alphapulse/data/news/cryptonews_2021-10_2022-07.csv.gz" in names
    assert "alphapulse/data/README.md" in names
    assert {"flows/ingest.py", "flows/pipeline.py", "bentos/service.py", "bentos/bentofile.yaml"} <= names
    assert "alphapulse/store/migrations/versions/0005_online_features.py" in names
    assert "alphapulse/features/default.yaml" in names
    assert "alphapulse/features/lexicons/finvader_1.0.4.csv.gz" in names


def test_the_installed_packages_are_the_venvs_not_the_checkouts(installed: Installed) -> None:
    probe = "import alphapulse, bentos, flows; print(alphapulse.__file__, flows.__file__, bentos.__file__)"
    result = checked(run([str(installed.bin / "python"), "-c", probe], installed.root, installed.env()))
    site = str(installed.venv / "lib")
    assert all(path.startswith(site) for path in result.stdout.split()), result.stdout


def test_alphapulse_run_from_the_wheel_writes_only_under_its_home(world: World) -> None:
    assert "out-of-sample walk-forward" in world.run.stdout
    assert list(world.workdir.iterdir()) == []
    with sqlite3.connect(world.home / "alphapulse.db") as store:
        assert store.execute("SELECT count(*) FROM candles").fetchone()[0] == 43_780
        assert store.execute("SELECT count(*) FROM online_features").fetchone()[0] == 1
    site = installed_files(world.installed)
    assert not [path for path in site if "__pycache__" not in path], "the run wrote into site-packages"


def installed_files(installed: Installed) -> list[str]:
    """Files under the installed packages that pip did not install (RECORD lists what it did)."""
    (record,) = (installed.venv / "lib").glob("python3.*/site-packages/alphapulse-*.dist-info/RECORD")
    listed = {line.split(",", 1)[0] for line in record.read_text().splitlines()}
    site = record.parents[1]
    found = []
    for package in ("alphapulse", "flows", "bentos"):
        for path in (site / package).rglob("*"):
            relative = str(path.relative_to(site))
            if path.is_file() and relative not in listed:
                found.append(relative)
    return found
