"""Serving throughput and latency: the AlphaPulse service beside a bare FastAPI app and a default BentoML one.

    .venv/bin/python -m bench.serve [--seconds 5] [--home DIR]

Prepares a world once (bundled candles and headlines of 2021-10..2022-06 in a SQLite store, the feature
set materialized, a small champion trained and exported; ``--home`` reuses one), then for each server
runs a keep-alive HTTP/1.1 load generator (raw asyncio sockets, so the client costs little of the two
cores) at 1, 8 and 32 concurrent clients and prints req/s, p50/p95/p99 and non-2xx counts for
``/signal`` and ``/predict``. All three servers answer through ``alphapulse.serving.ServingRuntime``,
so the comparison is the serving stack, not the work:

- ``alphapulse``: ``bentoml serve bentos.service:AlphaPulse`` (tuned, see ``alphapulse.serving.config``)
- ``fastapi``: one uvicorn process, plain FastAPI routes (``python -m bench.serve --baseline fastapi``)
- ``bentoml-default``: a ``@bentoml.service`` with default settings and sync endpoints
  (``bentoml serve bench.serve:DefaultService``)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bentoml
import httpx
from pydantic import BaseModel

from alphapulse.serving import CandleIn, HeadlineIn, Prediction, ServingRuntime
from alphapulse.settings import Settings, get_settings

REPO = Path(__file__).resolve().parents[1]
SYMBOL, TIMEFRAME = "BTC/USDT", "1h"
CONCURRENCY = (1, 8, 32)


# -- the two baselines ---------------------------------------------------------------------------


class PredictBody(BaseModel):
    symbol: str
    timeframe: str
    candles: list[CandleIn]
    headlines: list[HeadlineIn] = []


def fastapi_app() -> Any:
    from fastapi import FastAPI

    app = FastAPI()
    runtime = ServingRuntime(get_settings())

    @app.post("/signal")
    async def signal(body: dict[str, str]) -> Prediction:
        return runtime.signal(body["symbol"], body["timeframe"])

    @app.post("/predict")
    def predict(body: PredictBody) -> Prediction:
        return runtime.predict(body.symbol, body.timeframe, body.candles, body.headlines)

    return app


@bentoml.service(name="alphapulse-default")
class DefaultService:
    """BentoML out of the box: one worker, access log, sync endpoints in the thread pool."""

    def __init__(self) -> None:
        self.runtime = ServingRuntime(get_settings())

    @bentoml.api
    def signal(self, symbol: str, timeframe: str) -> Prediction:
        return self.runtime.signal(symbol, timeframe)

    @bentoml.api
    def predict(
        self, symbol: str, timeframe: str, candles: list[CandleIn], headlines: list[HeadlineIn]
    ) -> Prediction:
        return self.runtime.predict(symbol, timeframe, candles, headlines)


# -- the world -----------------------------------------------------------------------------------


def prepare(home: Path) -> Settings:
    from alphapulse.features import build, build_stored_feature_set, load_config
    from alphapulse.ingest import store_candles, store_news
    from alphapulse.serving import export_model
    from alphapulse.sources.bundled import CANDLES_FILE, CANDLES_SOURCE, HEADLINES_FILE, bundled_path
    from alphapulse.sources.csv_candles import read_candle_csv
    from alphapulse.sources.news import read_headline_dataset
    from alphapulse.store import make_engine, upgrade
    from alphapulse.store.queries import load_candles, load_news
    from alphapulse.training import load_config as training_config
    from alphapulse.training import promote, train_all

    settings = Settings(home=home)
    if (settings.bentoml_home / "models").exists():
        return settings
    settings.ensure_dirs()
    engine = make_engine(settings.database_url)
    upgrade(engine)
    first, end = datetime(2021, 10, 1, tzinfo=UTC), datetime(2022, 7, 1, tzinfo=UTC)
    _form, rows = read_candle_csv(bundled_path(CANDLES_FILE), CANDLES_SOURCE)
    store_candles(engine, [r for r in rows if first <= r["open_time"] < end], run_id="bench")
    store_news(engine, read_headline_dataset(bundled_path(HEADLINES_FILE)), source="bundled", run_id="bench")
    config = load_config()
    build_stored_feature_set(
        engine, exchange="binance", symbol=SYMBOL, config=config, data_dir=settings.data_dir
    )
    matrix = build(load_candles(engine, "binance", SYMBOL, TIMEFRAME), load_news(engine), config)
    profile = training_config("fast")
    small = profile.model_copy(
        update={"splits": profile.splits.model_copy(update={"test_bars": 600, "min_train_bars": 1500})}
    )
    report = train_all(matrix, symbol=SYMBOL, timeframe=TIMEFRAME, settings=settings, config=small)
    if report.champion is None:
        promote(SYMBOL, TIMEFRAME, version=report.version, settings=settings)
    export_model(SYMBOL, TIMEFRAME, settings=settings)
    return settings


def predict_body(settings: Settings) -> bytes:
    from alphapulse.features import load_config, online_window_bars
    from alphapulse.money import to_text
    from alphapulse.store import make_engine
    from alphapulse.store.queries import load_candles

    engine = make_engine(settings.database_url)
    window = load_candles(engine, "binance", SYMBOL, TIMEFRAME).iloc[-online_window_bars(load_config()) :]
    candles = [
        {
            "open_time": r.open_time.isoformat(),
            **{k: to_text(getattr(r, k)) for k in ("open", "high", "low", "close", "volume")},
        }
        for r in window.itertuples()
    ]
    return json.dumps(
        {"symbol": SYMBOL, "timeframe": TIMEFRAME, "candles": candles, "headlines": []}
    ).encode()


# -- servers -------------------------------------------------------------------------------------


@contextmanager
def server(kind: str, settings: Settings, port: int) -> Iterator[str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("ALPHAPULSE_", "BENTOML_"))},
        **settings.tool_environment(),
        "ALPHAPULSE_HOME": str(settings.home),
        "BENTOML_HOME": str(settings.bentoml_home),
        "BENTOML_DO_NOT_TRACK": "true",
        "OMP_NUM_THREADS": "1",
    }
    bentoml_cli = str(Path(sys.executable).with_name("bentoml"))
    host = ["--host", "127.0.0.1", "--port", str(port)]
    commands = {
        "alphapulse": [bentoml_cli, "serve", "bentos.service:AlphaPulse", *host],
        "bentoml-default": [bentoml_cli, "serve", "bench.serve:DefaultService", *host],
        "fastapi": [sys.executable, "-m", "bench.serve", "--baseline", "fastapi", "--port", str(port)],
    }
    log = tempfile.NamedTemporaryFile(prefix=f"bench-{kind}-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(
        commands[kind], env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if (
                    httpx.post(f"{base}/signal", json={"symbol": SYMBOL, "timeframe": TIMEFRAME}).status_code
                    == 200
                ):
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            raise RuntimeError(f"{kind} did not start; see {log.name}")
        yield base
    finally:
        os.killpg(process.pid, 15)
        process.wait(30)


# -- load generator ------------------------------------------------------------------------------


async def _client(
    port: int, request: bytes, stop: float, latencies: list[float], failures: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < stop:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if not 200 <= status < 300:
                failures.append(status)
    finally:
        writer.close()


def load(port: int, path: str, body: bytes, clients: int, seconds: float) -> dict[str, float]:
    request = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body

    async def run(duration: float) -> tuple[list[float], list[int]]:
        latencies: list[float] = []
        failures: list[int] = []
        stop = time.perf_counter() + duration
        await asyncio.gather(*(_client(port, request, stop, latencies, failures) for _ in range(clients)))
        return latencies, failures

    asyncio.run(run(min(1.0, seconds / 4)))  # warm-up: connections, caches, first-call costs
    started = time.perf_counter()
    latencies, failures = asyncio.run(run(seconds))
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [latencies[0]] * 99
    return {
        "rps": len(latencies) / elapsed,
        "p50": cuts[49] * 1000,
        "p95": cuts[94] * 1000,
        "p99": cuts[98] * 1000,
        "non2xx": float(len(failures)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--home", type=Path, default=Path(tempfile.gettempdir()) / "alphapulse-bench-serve")
    parser.add_argument("--servers", default="alphapulse,fastapi,bentoml-default")
    parser.add_argument("--baseline", choices=["fastapi"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=3000)
    args = parser.parse_args()
    if args.baseline == "fastapi":
        import uvicorn

        uvicorn.run(fastapi_app(), host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
        return
    settings = prepare(args.home)
    bodies = {
        "/signal": json.dumps({"symbol": SYMBOL, "timeframe": TIMEFRAME}).encode(),
        "/predict": predict_body(settings),
    }
    size = len(bodies["/predict"]) // 1024
    print(f"{os.cpu_count()} cores; {args.seconds:.0f} s per cell; /predict sends {size} KiB")
    columns = ("req/s", "p50 ms", "p95 ms", "p99 ms")
    print(
        f"{'server':16} {'endpoint':9} {'clients':>7} {' '.join(f'{c:>8}' for c in columns)} {'non-2xx':>7}"
    )
    for offset, kind in enumerate(args.servers.split(",")):
        port = args.port + offset
        with server(kind, settings, port):
            for path, body in bodies.items():
                for clients in CONCURRENCY:
                    seconds = args.seconds if path == "/signal" else args.seconds * 2
                    r = load(port, path, body, clients, seconds)
                    print(
                        f"{kind:16} {path:9} {clients:>7} {r['rps']:>8.0f} {r['p50']:>8.2f} {r['p95']:>8.2f} "
                        f"{r['p99']:>8.2f} {r['non2xx']:>7.0f}",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
