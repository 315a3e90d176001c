"""`alphapulse replay-exchange` as a real process, ingested by the real ccxt client while its clock runs.

At 3600x one recorded hour closes every wall second. Ingestion runs (the CLI once, then the library
for two symbols) while bars are released; every bar must land exactly once with the recording's exact
values, and the bar still forming (served flat, with no volume) never.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from alphapulse.pipeline.ingest import IngestReport, ingest_exchange
from alphapulse.replay import Series
from alphapulse.replay.series import load_csv
from alphapulse.sources.exchange import FetchPlan, make_exchange
from alphapulse.sources.rows import from_epoch_ms
from alphapulse.store import make_engine, upgrade
from alphapulse.store.queries import load_candles
from tests.support.processes import clean_environment, free_port, http_ok, running, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
BUNDLED = REPO / "src/alphapulse/data/ohlcv/binance_btcusdt_1h_2020-10_2025-10.csv.gz"
HOUR_MS = 3_600_000
START = "2025-09-01T00:00Z"
SINCE_MS = 1_756_080_000_000  # 2025-08-25T00:00Z, a week of history before the replay starts
SPEED = 3600


def eth_file(btc: Series, path: Path) -> Path:
    """A second symbol, different and exact: BTC's prices divided by 4, its volumes times 3."""
    lines = ["timestamp,open,high,low,close,volume"]
    for bar in btc.bars:
        if SINCE_MS <= bar.open_ms < SINCE_MS + 30 * 24 * HOUR_MS:
            prices = (bar.open / 4, bar.high / 4, bar.low / 4, bar.close / 4, bar.volume * 3)
            lines.append(f"{bar.open_ms}," + ",".join(format(v, "f") for v in prices))
    path.write_text("\n".join(lines) + "\n")
    return path


def server_time(base: str) -> int:
    return int(httpx.get(f"{base}/api/v3/time", timeout=5).json()["serverTime"])


def assert_stored_exactly(url: str, symbol: str, recorded: Series, closed_by: int) -> int:
    """The store holds the recording's bars from SINCE up to some bar closed by ``closed_by``, each once,
    with the recording's exact values; returns how many."""
    stored = load_candles(make_engine(url), "binance", symbol, "1h")
    assert stored["open_time"].is_unique
    expected = [b for b in recorded.bars if b.open_ms >= SINCE_MS][: len(stored)]
    assert len(stored) == len(expected)
    for (_, row), bar in zip(stored.iterrows(), expected, strict=True):
        assert row["open_time"].to_pydatetime() == from_epoch_ms(bar.open_ms)
        assert [row[n] for n in ("open", "high", "low", "close", "volume")] == [
            bar.open,
            bar.high,
            bar.low,
            bar.close,
            bar.volume,
        ], f"{symbol} {bar} stored as {row.to_dict()}"
    assert expected[-1].open_ms + HOUR_MS <= closed_by, "a bar that had not closed was stored"
    return len(stored)


def test_bars_released_by_the_clock_are_ingested_once_each_and_the_forming_bar_never(tmp_path: Path) -> None:
    btc = load_csv("BTC/USDT", BUNDLED)
    eth_path = eth_file(btc, tmp_path / "eth_1h.csv")
    eth = load_csv("ETH/USDT", eth_path)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    database = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade(make_engine(database))
    env = clean_environment(
        ALPHAPULSE_HOME=str(tmp_path / "home"),
        ALPHAPULSE_DATABASE_URL=database,
        ALPHAPULSE_EXCHANGE_API_BASE=base,
    )
    command = [
        str(BIN / "alphapulse"),
        "replay-exchange",
        "--port",
        str(port),
        "--start",
        START,
        "--speed",
        str(SPEED),
        "--csv",
        f"ETH/USDT={eth_path}",
    ]
    log = tmp_path / "replay.log"
    with running(command, env=env, log=log) as replay:
        wait_until(
            http_ok(f"{base}/api/v3/ping"), timeout=90, what=f"the replay exchange ({log.read_text()})"
        )

        # The command a user runs, against the replay through ALPHAPULSE_EXCHANGE_API_BASE.
        cli = subprocess.run(
            [str(BIN / "alphapulse"), "ingest", "candles", "--exchange", "binance", "--since", "2025-08-25"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert cli.returncode == 0, cli.stdout + cli.stderr
        first = assert_stored_exactly(database, "BTC/USDT", btc, server_time(base))
        assert first >= 7 * 24  # the week before the start, and what closed while the CLI started

        # Then the library, for both symbols, while the clock releases more bars.
        engine = make_engine(database)
        reports: dict[str, list[IngestReport]] = {"BTC/USDT": [], "ETH/USDT": []}
        counts: list[int] = []
        for _ in range(4):
            for symbol in reports:
                plan = FetchPlan(
                    exchange="binance", symbol=symbol, timeframe="1h", since=from_epoch_ms(SINCE_MS)
                )
                reports[symbol].append(ingest_exchange(engine, make_exchange("binance", api_base=base), plan))
            closed_by = server_time(base)
            counts.append(assert_stored_exactly(database, "BTC/USDT", btc, closed_by))
            assert_stored_exactly(database, "ETH/USDT", eth, closed_by)
            forming = httpx.get(
                f"{base}/api/v3/klines", params={"symbol": "ETHUSDT", "interval": "1h", "limit": 1}
            )
            (served,) = forming.json()
            assert served[1:6] == [served[1]] * 4 + ["0"], "the replay serves the forming bar flat"
            time.sleep(2.5)  # a few more hours of market time
        assert replay.poll() is None, log.read_text()
    assert replay.returncode == 0, "SIGTERM stops the server cleanly"

    assert counts[-1] >= first + 6, f"the released history grew: {first} then {counts}"
    for runs in reports.values():
        assert all(r.updated == 0 and r.quarantined == 0 for r in runs), runs  # nothing stored then corrected
    stored_btc = len(load_candles(engine, "binance", "BTC/USDT", "1h"))
    assert sum(r.inserted for r in reports["BTC/USDT"]) == stored_btc - first  # each bar inserted once
    assert sum(r.inserted for r in reports["ETH/USDT"]) == len(
        load_candles(engine, "binance", "ETH/USDT", "1h")
    )
