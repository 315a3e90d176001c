"""Serving throughput and latency: the AlphaPulse service beside a bare FastAPI app and a default BentoML one.

    .venv/bin/python -m bench.serve [--seconds 5] [--rounds 3] [--home DIR]

Prepares a world once (bundled candles and headlines of 2021-10..2022-06 in a SQLite store, the feature
set materialized, a small champion trained and exported; ``--home`` reuses one) and starts every server
side by side. Then, round after round, it loads each server in turn with wrk (C, epoll, one thread, so
the client takes little of the cores it shares with the servers) at 1, 8 and 32 keep-alive
connections, for ``/signal`` and ``/predict``. Interleaving the servers within each round, and taking
the median over rounds, keeps a shared machine's drift out of the comparison. All servers answer
through ``alphapulse.serving.ServingRuntime``, so the comparison is the serving stack, not the work:

- ``alphapulse``: ``bentoml serve bentos.service:AlphaPulse`` (tuned, see ``alphapulse.serving.config``),
  with the service's own worker count (one per core unless ``--workers``)
- ``alphapulse-1w``: the same service with one worker, against the one bare process (BentoML's cost
  per process)
- ``fastapi``: the bare baseline of the goals: one uvicorn process, plain FastAPI routes
- ``bentoml-default``: a ``@bentoml.service`` with default settings and sync endpoints
  (``bentoml serve bench.serve:DefaultService``)

The last lines check the goals for ``/signal``: at 32 clients >= 1,000 req/s and >= 0.8 of bare FastAPI's
req/s in the same round, p99 <= 5 ms with 1 client and <= 20 ms with 8, no non-2xx answers.
Needs ``wrk`` on PATH (Debian/Ubuntu: ``apt-get install wrk``; macOS: ``brew install wrk``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bentoml
import httpx
from pydantic import BaseModel

from alphapulse.serving import CandleIn, HeadlineIn, Prediction, ServingRuntime
from alphapulse.settings import Settings, get_settings
from tests.support.processes import clean_environment, exit_on_termination, running, wait_until

REPO = Path(__file__).resolve().parents[1]
SYMBOL, TIMEFRAME = "BTC/USDT", "1h"
CONCURRENCY = (1, 8, 32)
SERVERS = "alphapulse,alphapulse-1w,fastapi,bentoml-default"
ENDPOINTS = "/signal,/predict"
#: The bench serves bars of 2021-22, years older than the default maximum age of two bars: generous
#: enough that /signal answers them (the freshness check itself still runs on every request).
MAX_AGE_BARS = "1e7"
#: Seconds of load per server and endpoint before the first round (a fresh server is slow at first).
WARM_UP = 5
#: Seconds between two cells, so the prediction log of the server just loaded is written before the next.
SETTLE = 1.0


# -- the two baselines ---------------------------------------------------------------------------


class PredictBody(BaseModel):
    symbol: str
    timeframe: str
    candles: list[CandleIn]
    headlines: list[HeadlineIn] = []


def fastapi_app() -> Any:
    """The bare baseline: the runtime's calls behind plain FastAPI routes."""
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
    from alphapulse.features import build, load_config
    from alphapulse.pipeline.export import export_model
    from alphapulse.pipeline.features import build_stored_feature_set
    from alphapulse.pipeline.ingest import store_candles, store_news
    from alphapulse.pipeline.instrument import Instrument
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
    export_model(settings, Instrument.of(settings, SYMBOL, timeframe=TIMEFRAME))
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


@dataclass(frozen=True)
class Running:
    kind: str
    port: int
    log: Path


@contextmanager
def server(
    kind: str, settings: Settings, port: int, log: Path, workers: int, recycle: int | None
) -> Iterator[Running]:
    env = clean_environment(
        **settings.tool_environment(),
        ALPHAPULSE_HOME=str(settings.home),
        OMP_NUM_THREADS="1",
        ALPHAPULSE_SERVING_MAX_AGE_BARS=MAX_AGE_BARS,
        ALPHAPULSE_SERVING_WORKERS=str(1 if kind == "alphapulse-1w" else workers),
        **({} if recycle is None else {"ALPHAPULSE_SERVING_RECYCLE_REQUESTS": str(recycle)}),
    )
    bentoml_serve = [str(Path(sys.executable).with_name("bentoml")), "serve"]
    host = ["--host", "127.0.0.1", "--port", str(port)]
    service = [*bentoml_serve, "bentos.service:AlphaPulse", *host]
    commands = {
        "alphapulse": service,
        "alphapulse-1w": service,
        "bentoml-default": [*bentoml_serve, "bench.serve:DefaultService", *host],
        "fastapi": [sys.executable, "-m", "bench.serve", "--baseline", "fastapi", "--port", str(port)],
    }
    with running(commands[kind], env=env, log=log, cwd=REPO):
        yield Running(kind, port, log)


def answers_signal(port: int) -> Callable[[], bool]:
    """Ready means answering ``/signal``: models loaded and precomputed features read."""

    def check() -> bool:
        try:
            body = {"symbol": SYMBOL, "timeframe": TIMEFRAME}
            return httpx.post(f"http://127.0.0.1:{port}/signal", json=body).status_code == 200
        except httpx.HTTPError:
            return False

    return check


# -- load generator ------------------------------------------------------------------------------

#: wrk script: POST the body file given after ``--``, count non-2xx answers exactly (wrk itself only
#: counts >= 400), print one JSON line of figures.
WRK_SCRIPT = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  local file = assert(io.open(args[1], "rb"))
  wrk.method = "POST"
  wrk.body = file:read("*a")
  wrk.headers["Content-Type"] = "application/json"
  file:close()
  non2xx = 0
end
function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end
function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do bad = bad + thread:get("non2xx") end
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50": %d, "p95": %d, "p99": %d, "non2xx": %d, "errors": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), bad, e.connect + e.read + e.write + e.timeout))
end
"""


def load(wrk: list[str], url: str, body: Path | str, clients: int, seconds: int) -> dict[str, float]:
    """One cell: ``clients`` keep-alive connections for ``seconds`` (wrk takes whole seconds); ms.

    ``wrk`` is the command with its script (a local wrk, or one in a container: the stack test's);
    ``body`` is the path wrk opens; ``failed`` counts non-2xx answers and socket errors.
    """
    command = [*wrk, "-t1", f"-c{clients}", f"-d{seconds}s", "--timeout", "30s"]
    output = subprocess.run([*command, url, "--", str(body)], capture_output=True, text=True, check=True)
    figures = json.loads(output.stdout.strip().splitlines()[-1])
    return {
        "requests": float(figures["requests"]),
        "rps": figures["requests"] / (figures["duration_us"] / 1e6),
        "p50": figures["p50"] / 1000,
        "p95": figures["p95"] / 1000,
        "p99": figures["p99"] / 1000,
        "failed": float(figures["non2xx"] + figures["errors"]),
    }


# -- report --------------------------------------------------------------------------------------

Results = dict[tuple[str, str, int], list[dict[str, float]]]


def median(runs: list[dict[str, float]], key: str) -> float:
    """Over rounds: robust to the one round a shared machine was busy elsewhere."""
    return statistics.median(run[key] for run in runs)


def print_table(results: Results) -> None:
    columns = ("req/s", "(min-max)", "p50 ms", "p95 ms", "p99 ms")
    print(f"\n{'server':16} {'endpoint':9} {'clients':>7} {' '.join(f'{c:>11}' for c in columns)}  failed")
    for (kind, path, clients), runs in results.items():
        spread = f"{min(r['rps'] for r in runs):.0f}-{max(r['rps'] for r in runs):.0f}"
        print(
            f"{kind:16} {path:9} {clients:>7} {median(runs, 'rps'):>11.0f} {spread:>11} "
            f"{median(runs, 'p50'):>11.2f} {median(runs, 'p95'):>11.2f} {median(runs, 'p99'):>11.2f} "
            f"{sum(r['failed'] for r in runs):>7.0f}"
        )


def check_goals(results: Results) -> None:
    """The issue's goals for ``/signal``, from this run's figures (medians over rounds)."""
    needed = [("alphapulse", "/signal", c) for c in CONCURRENCY] + [("fastapi", "/signal", 32)]
    if not all(cell in results for cell in needed):
        return
    ours = {c: results[("alphapulse", "/signal", c)] for c in CONCURRENCY}
    bare = results[("fastapi", "/signal", 32)]
    ratios = [a["rps"] / b["rps"] for a, b in zip(ours[32], bare, strict=True)]
    failed = sum(
        r["failed"] for (kind, _path, _c), runs in results.items() if kind == "alphapulse" for r in runs
    )
    unanswered = sum(1 for c in CONCURRENCY for r in ours[c] if r["requests"] == 0)
    rounds = ", ".join(f"{ratio:.2f}" for ratio in ratios)
    checks = [
        (f"/signal at 32 clients: {median(ours[32], 'rps'):.0f} req/s", median(ours[32], "rps") >= 1000),
        (
            f"/signal at 32 clients vs bare FastAPI: {statistics.median(ratios):.2f} (rounds: {rounds})",
            statistics.median(ratios) >= 0.8,
        ),
        (f"/signal p99 with 1 client: {median(ours[1], 'p99'):.2f} ms", median(ours[1], "p99") <= 5),
        (f"/signal p99 with 8 clients: {median(ours[8], 'p99'):.2f} ms", median(ours[8], "p99") <= 20),
        (f"alphapulse non-2xx answers and socket errors: {failed:.0f}", failed == 0),
        (f"alphapulse /signal cells without an answer: {unanswered}", unanswered == 0),
    ]
    print()
    for text, met in checks:
        print(f"{'met   ' if met else 'MISSED'} {text}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=5, help="per /signal cell (/predict: twice)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--home", type=Path, default=Path(tempfile.gettempdir()) / "alphapulse-bench-serve")
    parser.add_argument("--servers", default=SERVERS, help=f"comma-separated, of {SERVERS}")
    parser.add_argument("--endpoints", default=ENDPOINTS)
    parser.add_argument("--workers", type=int, help="alphapulse workers (default: the service's own setting)")
    parser.add_argument(
        "--recycle", type=int, help="responses per keep-alive connection recycle (default: the setting's)"
    )
    parser.add_argument("--baseline", choices=["fastapi"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=3000)
    args = parser.parse_args()
    if args.baseline == "fastapi":
        import uvicorn

        uvicorn.run(fastapi_app(), host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
        return
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit(
            "bench.serve needs wrk on PATH (Debian/Ubuntu: apt-get install wrk; macOS: brew install wrk)"
        )
    settings = prepare(args.home)
    workers = args.workers or settings.serving_workers
    work = Path(tempfile.mkdtemp(prefix="alphapulse-bench-serve-"))
    script = work / "post.lua"
    script.write_text(WRK_SCRIPT)
    bodies = {
        "/signal": json.dumps({"symbol": SYMBOL, "timeframe": TIMEFRAME}).encode(),
        "/predict": predict_body(settings),
    }
    files = {path: work / f"{path.strip('/')}.json" for path in bodies}
    for path, body in bodies.items():
        files[path].write_bytes(body)
    kinds = args.servers.split(",")
    endpoints = args.endpoints.split(",")
    print(
        f"{os.cpu_count()} cores; {args.rounds} rounds of {args.seconds} s per /signal cell; "
        f"/predict sends {len(bodies['/predict']) // 1024} KiB; alphapulse runs {workers} worker(s)"
    )
    results: Results = {}
    with exit_on_termination(), ExitStack() as stack:
        servers = [
            stack.enter_context(
                server(kind, settings, args.port + offset, work / f"{kind}.log", workers, args.recycle)
            )
            for offset, kind in enumerate(kinds)
        ]
        for started in servers:
            what = f"{started.kind} on port {started.port} (log: {started.log})"
            wait_until(answers_signal(started.port), timeout=300, what=what)
        command = [wrk, "-s", str(script)]
        for started in servers:  # first requests: lazy imports, metric files, log tables
            for path in endpoints:
                load(command, f"http://127.0.0.1:{started.port}{path}", files[path], 8, WARM_UP)
        for round_number in range(1, args.rounds + 1):
            for path in endpoints:
                seconds = args.seconds if path == "/signal" else args.seconds * 2
                for clients in CONCURRENCY:
                    for started in servers:
                        url = f"http://127.0.0.1:{started.port}{path}"
                        load(command, url, files[path], clients, 1)  # warm-up: the server's caches
                        r = load(command, url, files[path], clients, seconds)
                        results.setdefault((started.kind, path, clients), []).append(r)
                        print(
                            f"round {round_number} {started.kind:16} {path:9} {clients:>3} clients: "
                            f"{r['rps']:>6.0f} req/s, p99 {r['p99']:.2f} ms, failed {r['failed']:.0f}",
                            flush=True,
                        )
                        time.sleep(SETTLE)
    print_table(results)
    check_goals(results)


if __name__ == "__main__":
    main()
