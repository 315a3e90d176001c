"""The service while its database goes away and comes back: a real ``bentoml serve`` on a private
PostgreSQL cluster that the test stops and restarts.

Found by a fault test before: with the database unreachable the workers crashed and restarted in a
loop and a ``/readyz`` request got no answer for minutes. Now: ``/readyz`` answers 503 sooner than a database connect could time out
while the database is down, the same worker processes keep serving what they hold in memory, and
they are ready again by themselves once it is back. The server runs on the default maximum bar age,
so ``/signal`` on this 2022 data also shows the stale refusal over HTTP.

Found here too, in full-suite runs: the database stopped while the second worker was still starting
(the test had only seen the first one ready), so that worker never read the features and answered
``/signal`` with a 404 "no precomputed features". A worker is now ready only once its features are read,
and one that could not read them answers 503 ``store_unreachable``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import psutil
import pytest
from sqlalchemy import select

from alphapulse.access.keys import create_key
from alphapulse.features import online_window_bars
from alphapulse.money import to_text
from alphapulse.serving.worker import STORE_CHECK_SECONDS
from alphapulse.settings import Settings
from alphapulse.store import PREDICTIONS, make_engine, upgrade
from tests.support.bento_serve import answers, bentoml_serve
from tests.support.pgcluster import PgCluster, server_binaries, temporary_cluster
from tests.support.processes import http_ok, wait_until
from tests.support.served_world import SYMBOL, TIMEFRAME, ServedChampion, serve_champion

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FIRST, END = datetime(2022, 1, 1, tzinfo=UTC), datetime(2022, 7, 1, tzinfo=UTC)
#: The workers' database connect timeout (seconds) in this module.
CONNECT_TIMEOUT = 2
#: A probe that waited on the database would take at least the connect timeout; one that reads the cached
#: state answers well within it, however loaded the machine (a 1 s budget failed under other agents' load).
PROBE_BUDGET = float(CONNECT_TIMEOUT)
#: A worker's readiness outlives its last good store check by 3 checks + the connect timeout.
READINESS_GRACE = 3 * STORE_CHECK_SECONDS + CONNECT_TIMEOUT
#: How long the database stays down after the workers noticed (several store checks and refreshes).
OUTAGE_SECONDS = 12
WORKERS = 2
#: What a worker logs once it has its models and their features and the store answers.
READY_LINE = "this worker is ready"


@pytest.fixture(scope="module")
def cluster() -> Iterator[PgCluster]:
    bindir = server_binaries()
    if bindir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL server binaries (/usr/lib/postgresql/*/bin) are required in CI")
        pytest.skip("no PostgreSQL server binaries under /usr/lib/postgresql")
    with temporary_cluster(bindir) as started:
        started.create_database("alphapulse")
        yield started


@pytest.fixture(scope="module")
def world(cluster: PgCluster, tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, ServedChampion]:
    settings = Settings(
        home=tmp_path_factory.mktemp("outage") / "home", database_url=cluster.url("alphapulse")
    )
    settings.ensure_dirs()
    engine = make_engine(settings.database_url)
    upgrade(engine)
    served = serve_champion(settings, engine, first=FIRST, end=END)
    engine.dispose()
    return settings, served


@pytest.fixture(scope="module")
def key(world: tuple[Settings, ServedChampion]) -> dict[str, str]:
    """The headers of a client's key, issued while the database is up."""
    engine = make_engine(world[0].database_url)
    token = create_key(engine, "outage-tests", ["signal", "predict"]).token
    engine.dispose()
    return {"X-API-Key": token}


@contextmanager
def _serving(settings: Settings, log: Path) -> Iterator[tuple[str, psutil.Process]]:
    """``bentoml serve`` with two workers on the settings' store, once it answers ``/readyz`` at all."""
    with bentoml_serve(
        settings,
        log,
        until=answers,
        ALPHAPULSE_DATABASE_URL=settings.database_url,
        ALPHAPULSE_DATABASE_CONNECT_TIMEOUT=str(CONNECT_TIMEOUT),
        ALPHAPULSE_SERVING_WORKERS=str(WORKERS),
        ALPHAPULSE_SERVING_REFRESH_SECONDS="2",
    ) as (base, process):
        yield base, psutil.Process(process.pid)


@pytest.fixture(scope="module")
def server_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The module's server log, for the failure messages of the tests that use the server."""
    return tmp_path_factory.mktemp("logs") / "serve.log"


@pytest.fixture(scope="module")
def server(
    world: tuple[Settings, ServedChampion], server_log: Path, key: dict[str, str]
) -> Iterator[tuple[str, psutil.Process]]:
    """Started after the key is issued: each worker reads the key table as it starts, the copy it
    verifies against during the outage."""
    settings, _served = world
    with _serving(settings, server_log) as started:
        base, _process = started
        wait_until(http_ok(f"{base}/readyz"), timeout=60, what="the service to be ready")
        # One ready answer is one worker's: the other may still be starting, with no features in memory
        # yet, and the outage test needs every worker to hold them.
        wait_until(lambda: len(_ready_workers(server_log)) == WORKERS, timeout=60, what="every worker ready")
        yield started


def _ready_workers(log: Path) -> set[str]:
    """The workers (BentoML's ``entry_service:<name>:<n>``) that logged they are ready."""
    return {
        line.split("[entry_service:", 1)[1].split("]", 1)[0]
        for line in log.read_text().splitlines()
        if READY_LINE in line and "[entry_service:" in line
    }


def _workers(server: psutil.Process) -> set[int]:
    return {
        child.pid
        for child in server.children(recursive=True)
        if "_bentoml_impl.worker.service" in " ".join(child.cmdline())
    }


def _probe(base: str) -> tuple[int, float]:
    """One ``/readyz`` on a new connection (so the two workers both get asked), and how long it took."""
    started = time.monotonic()
    status = httpx.get(f"{base}/readyz", timeout=PROBE_BUDGET * 5).status_code
    return status, time.monotonic() - started


def _predict_body(served: ServedChampion) -> dict[str, Any]:
    window = served.candles.iloc[-online_window_bars(served.matrix.config) :]
    candles = [
        {
            "open_time": row.open_time.isoformat(),
            **{name: to_text(getattr(row, name)) for name in ("open", "high", "low", "close", "volume")},
        }
        for row in window.itertuples()
    ]
    return {"symbol": SYMBOL, "timeframe": TIMEFRAME, "candles": candles, "headlines": []}


def test_stale_signal_is_refused_with_the_bar_time(
    world: tuple[Settings, ServedChampion], server: tuple[str, psutil.Process], key: dict[str, str]
) -> None:
    base, _process = server
    _settings, served = world
    response = httpx.post(
        f"{base}/signal", json={"symbol": SYMBOL, "timeframe": TIMEFRAME}, headers=key, timeout=30
    )
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "stale"
    stale = response.json()["detail"]
    last = served.candles["open_time"].iloc[-1]
    assert stale["error"] == "stale"
    assert pd.Timestamp(stale["as_of"]) == last
    assert pd.Timestamp(stale["bar_close_time"]) == last + pd.Timedelta(TIMEFRAME)
    assert stale["max_age_seconds"] == 7200.0
    assert stale["age_seconds"] > 365 * 86400
    assert last.isoformat() in stale["reason"]


@pytest.fixture
def restarts_cluster(cluster: PgCluster) -> Iterator[PgCluster]:
    """The cluster is running again after the test, whatever failed in it (the next test needs it)."""
    yield cluster
    if not cluster.running:
        cluster.start()


def test_readiness_follows_the_database_and_the_workers_stay_up(
    restarts_cluster: PgCluster,
    world: tuple[Settings, ServedChampion],
    server: tuple[str, psutil.Process],
    server_log: Path,
    key: dict[str, str],
) -> None:
    cluster = restarts_cluster
    base, process = server
    settings, served = world
    body = _predict_body(served)
    workers = _workers(process)
    assert len(workers) == WORKERS
    assert _probe(base)[0] == 200

    cluster.stop()
    probes: list[tuple[int, float]] = []
    stopped = time.monotonic()
    last_ready = stopped
    # Each worker turns unready on its own, within its readiness grace; the outage starts once a whole
    # grace has passed with every probe (whichever worker answered) unready.
    while time.monotonic() - last_ready < READINESS_GRACE and time.monotonic() < stopped + 30:
        probes.append(_probe(base))
        if probes[-1][0] != 503:
            last_ready = time.monotonic()
    assert time.monotonic() - last_ready >= READINESS_GRACE, (
        f"still ready {time.monotonic() - stopped:.0f} s after the database stopped: {probes[-5:]}"
    )
    outage_ends = time.monotonic() + OUTAGE_SECONDS
    during: list[tuple[int, float]] = []
    while time.monotonic() < outage_ends:
        during.append(_probe(base))
        time.sleep(0.1)
    # Models and features are in memory: answers go on (their log rows are dropped, not the answers).
    predicted = httpx.post(f"{base}/predict", json=body, headers=key, timeout=60)
    assert predicted.status_code == 200, _with_log(predicted.text, server_log)
    signal = httpx.post(
        f"{base}/signal", json={"symbol": SYMBOL, "timeframe": TIMEFRAME}, headers=key, timeout=30
    )
    assert signal.status_code == 503, _with_log(signal.text, server_log)
    assert signal.json()["error"] == "stale", _with_log(signal.text, server_log)
    assert {status for status, _ in during} == {503}
    slowest = max(seconds for _, seconds in probes + during)
    assert slowest < PROBE_BUDGET, f"a /readyz took {slowest:.2f} s while the database was down"
    assert _workers(process) == workers, "workers were restarted during the outage"

    cluster.start()
    back_after = _ready_again(base)
    assert _workers(process) == workers
    print(
        f"/readyz while down: {len(probes) + len(during)} probes, slowest {slowest * 1000:.0f} ms; "
        f"ready again {back_after:.1f} s after the database was"
    )

    # And the store is used again: a new answer reaches the prediction log.
    answer = httpx.post(f"{base}/predict", json=body, headers=key, timeout=60).json()
    engine = make_engine(settings.database_url)

    def logged() -> bool:
        with engine.connect() as connection:
            query = select(PREDICTIONS.c.id).where(PREDICTIONS.c.request_id == answer["request_id"])
            return connection.execute(query).first() is not None

    try:
        wait_until(logged, timeout=30, what="the answer in the prediction log")
    finally:
        engine.dispose()


def _with_log(answer: str, log: Path) -> str:
    """A wrong answer with the service's log: which worker knew what, and when the store went away."""
    return f"{answer}\nservice log:\n{log.read_text()[-6000:]}"


def _ready_again(base: str) -> float:
    """Seconds until the first of ten probes in a row that say ready (so both workers are)."""
    started = time.monotonic()
    recovered: list[tuple[int, float]] = []
    while time.monotonic() < started + 30 and [s for s, _ in recovered[-10:]] != [200] * 10:
        recovered.append((_probe(base)[0], time.monotonic() - started))
        time.sleep(0.1)
    assert [s for s, _ in recovered[-10:]] == [200] * 10, f"not ready again: {recovered[-10:]}"
    return recovered[-10][1]


def test_workers_started_without_the_database_wait_unready_then_recover(
    cluster: PgCluster, world: tuple[Settings, ServedChampion], tmp_path: Path, key: dict[str, str]
) -> None:
    """The crash loop itself: workers that start while the database is down used to die in their
    constructor, be restarted, and die again, with nobody answering ``/readyz``."""
    settings, _served = world
    cluster.stop()
    try:
        with _serving(settings, tmp_path / "serve.log") as (base, process):
            workers = _workers(process)
            assert len(workers) == WORKERS
            deadline = time.monotonic() + OUTAGE_SECONDS
            probes = []
            while time.monotonic() < deadline:
                probes.append(_probe(base))
                time.sleep(0.1)
            assert {status for status, _ in probes} == {503}
            slowest = max(seconds for _, seconds in probes)
            assert slowest < PROBE_BUDGET, f"a /readyz took {slowest:.2f} s"
            # No worker could read the features, nor the keys: the store is unreachable, not "no features"
            # (a 404) nor "no such key" (a 401).
            signal = httpx.post(
                f"{base}/signal", json={"symbol": SYMBOL, "timeframe": TIMEFRAME}, headers=key, timeout=30
            )
            log = tmp_path / "serve.log"
            assert signal.status_code == 503, _with_log(signal.text, log)
            assert signal.json()["error"] == "store_unreachable", _with_log(signal.text, log)
            assert _workers(process) == workers, "workers were restarted while the database was down"
            assert "not ready" in (tmp_path / "serve.log").read_text()
            cluster.start()
            back_after = _ready_again(base)
            assert _workers(process) == workers
            print(
                f"started unready: {len(probes)} probes, slowest {slowest * 1000:.0f} ms; ready {back_after:.1f} s after"
            )
    finally:
        if not cluster.running:
            cluster.start()
