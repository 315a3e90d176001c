"""Serving throughput and latency: the AlphaPulse service beside a bare FastAPI app and a default BentoML one.

    .venv/bin/python -m bench.serve [--seconds 5] [--rounds 3] [--home DIR]

Prepares a world once (bundled candles and headlines of 2021-10..2022-06 in a SQLite store, the feature
set materialized, a small champion trained and exported; ``--home`` reuses one) and starts every server
side by side. Then, round after round, it loads each server in turn with wrk (C, epoll, one thread, so
the client takes little of the cores it shares with the servers) at 1, 8 and 32 keep-alive
connections, for ``/signal``, ``/predict`` (a realistic request: the client's last ``PREDICT_BARS`` bars,
the service completing the window from its store) and ``/predict (full window)`` (the whole window of
2,002 bars a client without the store would send). Interleaving the servers within each round, and taking
the median over rounds, keeps a shared machine's drift out of the comparison. All servers answer
through ``alphapulse.serving.ServingRuntime``, so the comparison is the serving stack, not the work:

- ``alphapulse``: ``bentoml serve bentos.service:AlphaPulse`` (tuned, see ``alphapulse.serving.config``),
  with the service's own worker count (one per core unless ``--workers``)
- ``alphapulse-1w``: the same service with one worker, against the one bare process (BentoML's cost
  per process)
- ``fastapi``: the bare baseline of the goals: one uvicorn process, plain FastAPI routes behind the same
  access gate
- ``bentoml-default``: a ``@bentoml.service`` with default settings and sync endpoints
  (``bentoml serve bench.serve:DefaultService``)

The last lines check the goals for ``/signal``: at 32 clients >= 1,000 req/s and >= 0.8 of bare FastAPI's
req/s in the same round, p99 <= 5 ms with 1 client and <= 20 ms with 8, no non-2xx answers; for
``/predict``: p50 <= 50 ms and p99 <= 200 ms with 1 client, >= 40 req/s with 8 (beside bare FastAPI doing
the same work); and ``/signal``'s p99 at 8 clients while 8 other clients load ``/predict``, against alone.
Every request carries ``X-API-Key`` (``API_KEY_HEADER``) with a key ``prepare`` issues.
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
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bentoml
import httpx
from fastapi import Request

from alphapulse.serving import CandleIn, HeadlineIn, Prediction, PredictRequest, ServingRuntime
from alphapulse.settings import Settings, get_settings
from tests.support.processes import clean_environment, exit_on_termination, running, wait_until

REPO = Path(__file__).resolve().parents[1]
SYMBOL, TIMEFRAME = "BTC/USDT", "1h"
CONCURRENCY = (1, 8, 32)
SERVERS = "alphapulse,alphapulse-1w,fastapi,bentoml-default"
ENDPOINTS = "/signal,/predict,/predict (full window)"
#: Bars a realistic /predict request sends: the last day of hourly bars, all of them in the service's
#: store. A client polling every bar sends its newest bar and a few before it, to correct a revised bar
#: or bridge a missed poll; a day covers the longest gap a client might resume after and stays ~3 KiB.
PREDICT_BARS = 24
#: The header every request carries its API key in (the service's, once keys are enforced).
API_KEY_HEADER = "X-API-Key"
#: Clients of /signal, and of /predict beside them, in the cell measuring /signal under /predict load.
MIXED_CLIENTS = 8
#: The bench serves bars of 2021-22, years older than the default maximum age of two bars: generous
#: enough that /signal answers them (the freshness check itself still runs on every request).
MAX_AGE_BARS = "1e7"
#: Seconds of load per server and endpoint before the first round (a fresh server is slow at first).
WARM_UP = 5
#: Seconds between two cells, so the prediction log of the server just loaded is written before the next.
SETTLE = 1.0


# -- the two baselines ---------------------------------------------------------------------------

#: The key id the bentoml-default baseline logs its answers under (it runs without the access gate).
CLIENT = "bench"


def fastapi_app() -> Any:
    """The bare baseline: the runtime's calls behind plain FastAPI routes and the service's access gate
    (keys, limits, body caps), so both servers do the same work per request."""
    from fastapi import FastAPI

    from alphapulse.serving import Access

    app = FastAPI()
    runtime = ServingRuntime(get_settings())

    @app.post("/signal")
    async def signal(body: dict[str, str], request: Request) -> Prediction:
        return runtime.signal(body["symbol"], body["timeframe"], client=request.state.client)

    @app.post("/predict")
    def predict(body: PredictRequest, request: Request) -> Prediction:
        return runtime.predict(
            body.symbol, body.timeframe, body.candles, body.headlines, client=request.state.client
        )

    return Access(app, get_settings())


@bentoml.service(name="alphapulse-default")
class DefaultService:
    """BentoML out of the box: one worker, access log, sync endpoints in the thread pool."""

    def __init__(self) -> None:
        self.runtime = ServingRuntime(get_settings())

    @bentoml.api
    def signal(self, symbol: str, timeframe: str) -> Prediction:
        return self.runtime.signal(symbol, timeframe, client=CLIENT)

    @bentoml.api
    def predict(
        self, symbol: str, timeframe: str, candles: list[CandleIn], headlines: list[HeadlineIn]
    ) -> Prediction:
        return self.runtime.predict(symbol, timeframe, candles, headlines, client=CLIENT)


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


def issue_key(settings: Settings) -> str:
    """A key allowed /signal and /predict with limits no load reaches."""
    from alphapulse.access.keys import create_key
    from alphapulse.store import make_engine, upgrade

    engine = make_engine(settings.database_url)
    upgrade(engine)  # a --home prepared by an older version lacks the key table
    limits = {"signal": "1000000/second", "predict": "1000000/second"}
    token = create_key(engine, f"bench-{uuid.uuid4().hex[:8]}", ["signal", "predict"], limits=limits).token
    engine.dispose()
    return token


def predict_body(settings: Settings, bars: int | None = None) -> bytes:
    """The last ``bars`` stored candles (default: the whole window the last bar needs) as a client sends
    them."""
    from alphapulse.features import load_config, online_window_bars
    from alphapulse.money import to_text
    from alphapulse.store import make_engine
    from alphapulse.store.queries import load_candles

    engine = make_engine(settings.database_url)
    count = bars or online_window_bars(load_config())
    window = load_candles(engine, "binance", SYMBOL, TIMEFRAME).iloc[-count:]
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


def answers_signal(port: int, token: str) -> Callable[[], bool]:
    """Ready means answering ``/signal``: models loaded and precomputed features read."""

    def check() -> bool:
        try:
            body = {"symbol": SYMBOL, "timeframe": TIMEFRAME}
            headers = {API_KEY_HEADER: token}
            url = f"http://127.0.0.1:{port}/signal"
            return httpx.post(url, json=body, headers=headers).status_code == 200
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
    command = _wrk_command(wrk, url, body, clients, seconds)
    output = subprocess.run(command, capture_output=True, text=True, check=False)
    if output.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {output.stdout} {output.stderr}")
    return _figures(output.stdout)


def load_beside(
    wrk: list[str], cell: tuple[str, Path, int], other: tuple[str, Path, int], seconds: int
) -> dict[str, float]:
    """``cell`` (url, body, clients) measured while ``other`` loads the same server from its own wrk."""
    url, body, clients = other
    background = subprocess.Popen(
        _wrk_command(wrk, url, body, clients, seconds + 2), stdout=subprocess.DEVNULL
    )
    try:
        time.sleep(1.0)  # the other load under way first
        return load(wrk, *cell, seconds)
    finally:
        background.wait()


def _wrk_command(wrk: list[str], url: str, body: Path | str, clients: int, seconds: int) -> list[str]:
    return [*wrk, "-t1", f"-c{clients}", f"-d{seconds}s", "--timeout", "30s", url, "--", str(body)]


def _figures(stdout: str) -> dict[str, float]:
    figures = json.loads(stdout.strip().splitlines()[-1])
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
    print(f"\n{'server':16} {'endpoint':22} {'clients':>7} {' '.join(f'{c:>11}' for c in columns)}  failed")
    for (kind, path, clients), runs in results.items():
        spread = f"{min(r['rps'] for r in runs):.0f}-{max(r['rps'] for r in runs):.0f}"
        print(
            f"{kind:16} {path:22} {clients:>7} {median(runs, 'rps'):>11.0f} {spread:>11} "
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


def check_predict_goals(results: Results) -> None:
    """The goals for ``/predict`` (the realistic request), beside bare FastAPI doing the same work, and
    ``/signal`` while ``/predict`` is loaded."""
    lines = []
    for kind in ("alphapulse", "fastapi"):
        one, eight = results.get((kind, "/predict", 1)), results.get((kind, "/predict", 8))
        if one is None or eight is None:
            continue
        p50, p99, rps = median(one, "p50"), median(one, "p99"), median(eight, "rps")
        goal = "" if kind == "alphapulse" else " (bare FastAPI, for comparison)"
        lines += [
            (f"{kind} /predict p50 with 1 client: {p50:.2f} ms{goal}", p50 <= 50),
            (f"{kind} /predict p99 with 1 client: {p99:.2f} ms{goal}", p99 <= 200),
            (f"{kind} /predict at 8 clients: {rps:.0f} req/s{goal}", rps >= 40),
        ]
    for kind in ("alphapulse", "fastapi"):
        alone = results.get((kind, "/signal", MIXED_CLIENTS))
        loaded = results.get((kind, "/signal + /predict load", MIXED_CLIENTS))
        if alone is None or loaded is None:
            continue
        lines.append(
            (
                f"{kind} /signal p99 at {MIXED_CLIENTS} clients while {MIXED_CLIENTS} others load /predict: "
                f"{median(loaded, 'p99'):.2f} ms (alone: {median(alone, 'p99'):.2f} ms; "
                f"{median(loaded, 'rps'):.0f} vs {median(alone, 'rps'):.0f} req/s)",
                median(loaded, "p99") <= 20 and all(r["requests"] > 0 for r in loaded),
            )
        )
    print()
    for text, met in lines:
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
    token = issue_key(settings)
    workers = args.workers or settings.serving_workers
    work = Path(tempfile.mkdtemp(prefix="alphapulse-bench-serve-"))
    script = work / "post.lua"
    script.write_text(WRK_SCRIPT)
    bodies = {
        "/signal": json.dumps({"symbol": SYMBOL, "timeframe": TIMEFRAME}).encode(),
        "/predict": predict_body(settings, PREDICT_BARS),
        "/predict (full window)": predict_body(settings),
    }
    #: What each row of the table posts to: its URL path.
    routes = {"/signal": "/signal", "/predict": "/predict", "/predict (full window)": "/predict"}
    files = {path: work / f"body-{number}.json" for number, path in enumerate(bodies)}
    for path, body in bodies.items():
        files[path].write_bytes(body)
    kinds = args.servers.split(",")
    endpoints = args.endpoints.split(",")
    print(
        f"{os.cpu_count()} cores; {args.rounds} rounds of {args.seconds} s per /signal cell; "
        f"/predict sends {PREDICT_BARS} bars ({len(bodies['/predict']) / 1024:.1f} KiB), the full window "
        f"{len(bodies['/predict (full window)']) // 1024} KiB; alphapulse runs {workers} worker(s)"
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
            wait_until(answers_signal(started.port, token), timeout=300, what=what)
        command = [wrk, "-s", str(script), "-H", f"{API_KEY_HEADER}: {token}"]
        for started in servers:  # first requests: lazy imports, metric files, log tables
            for path in endpoints:
                url = f"http://127.0.0.1:{started.port}{routes[path]}"
                load(command, url, files[path], 8, WARM_UP)
        for round_number in range(1, args.rounds + 1):
            for path in endpoints:
                seconds = args.seconds if path == "/signal" else args.seconds * 2
                for clients in CONCURRENCY:
                    for started in servers:
                        url = f"http://127.0.0.1:{started.port}{routes[path]}"
                        load(command, url, files[path], clients, 1)  # warm-up: the server's caches
                        r = load(command, url, files[path], clients, seconds)
                        results.setdefault((started.kind, path, clients), []).append(r)
                        print(
                            f"round {round_number} {started.kind:16} {path:22} {clients:>3} clients: "
                            f"{r['rps']:>6.0f} req/s, p99 {r['p99']:.2f} ms, failed {r['failed']:.0f}",
                            flush=True,
                        )
                        time.sleep(SETTLE)
            if "/signal" in endpoints and "/predict" in endpoints:
                for started in servers:
                    if started.kind not in ("alphapulse", "fastapi"):
                        continue
                    base = f"http://127.0.0.1:{started.port}"
                    signal = (f"{base}/signal", files["/signal"], MIXED_CLIENTS)
                    predict = (f"{base}/predict", files["/predict"], MIXED_CLIENTS)
                    r = load_beside(command, signal, predict, args.seconds)
                    results.setdefault((started.kind, "/signal + /predict load", MIXED_CLIENTS), []).append(r)
                    print(
                        f"round {round_number} {started.kind:16} /signal beside {MIXED_CLIENTS} /predict "
                        f"clients: {r['rps']:>6.0f} req/s, p99 {r['p99']:.2f} ms, failed {r['failed']:.0f}",
                        flush=True,
                    )
                    time.sleep(SETTLE)
    print_table(results)
    check_goals(results)
    check_predict_goals(results)


if __name__ == "__main__":
    main()
