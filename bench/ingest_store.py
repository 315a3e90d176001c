"""Store bulk-upsert throughput on PostgreSQL beside a naive baseline and the raw COPY floor.

    .venv/bin/python bench/ingest_store.py [--rows 100000] [--repeat 3]

Prints rows/s for: the store's upsert (first load into an empty table, then an idempotent re-load of the
same rows) in both of its modes (replace differing rows, the default; keep stored rows and report the
differing ones, the path every candle import takes), pandas ``DataFrame.to_sql`` (naive baseline, plain
inserts), and the floor: ``psql \\copy`` into a temp table followed by the same ``INSERT ... ON CONFLICT``
statement shape, run by psql itself. Best of --repeat runs for each figure.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
from sqlalchemy import text

from alphapulse.store import Candle, OnChange, make_engine, upgrade, upsert
from bench._pg import throwaway_database

COLUMNS = ["exchange", "symbol", "timeframe", "open_time", "open", "high", "low", "close", "volume"]
FLOOR_SQL = """
BEGIN;
CREATE TEMP TABLE _floor ON COMMIT DROP AS SELECT {cols} FROM candles WITH NO DATA;
\\copy _floor ({cols}) FROM '{path}' WITH (FORMAT csv)
INSERT INTO candles ({cols}, ingested_at) SELECT {cols}, now() FROM _floor
ON CONFLICT (exchange, symbol, timeframe, open_time) DO UPDATE SET
  open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close,
  volume = EXCLUDED.volume, ingested_at = EXCLUDED.ingested_at
WHERE (candles.open, candles.high, candles.low, candles.close, candles.volume)
  IS DISTINCT FROM (EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close, EXCLUDED.volume);
COMMIT;
"""


def synthetic_candles(count: int) -> list[dict[str, object]]:
    start = datetime(2015, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(count):
        base = Decimal(20000 + (i * 7919) % 50000) + Decimal(i % 100) / 100
        rows.append(
            {
                "exchange": "binance",
                "symbol": "BTC/USDT",
                "timeframe": "1h",
                "open_time": start + timedelta(hours=i),
                "open": base,
                "high": base + Decimal("12.34"),
                "low": base - Decimal("5.67"),
                "close": base + Decimal("1.01"),
                "volume": Decimal(i % 5000) + Decimal("0.12345678"),
            }
        )
    return rows


def best_of(repeat: int, setup: Callable[[], None], action: Callable[[], object]) -> float:
    timings = []
    for _ in range(repeat):
        setup()
        began = time.perf_counter()
        action()
        timings.append(time.perf_counter() - began)
    return min(timings)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = synthetic_candles(args.rows)
    with throwaway_database("alphapulse_bench") as database, tempfile.TemporaryDirectory() as tmp:
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}"
        engine = make_engine(url)
        upgrade(engine)
        csv_path = Path(tmp) / "candles.csv"
        with csv_path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            for row in rows:
                writer.writerow([row[c].isoformat() if c == "open_time" else row[c] for c in COLUMNS])  # type: ignore[attr-defined]
        floor_script = Path(tmp) / "floor.sql"
        floor_script.write_text(FLOOR_SQL.format(cols=", ".join(COLUMNS), path=csv_path))

        def truncate() -> None:
            with engine.begin() as connection:
                connection.execute(text("TRUNCATE candles"))
                connection.execute(text("DROP TABLE IF EXISTS candles_naive"))

        def nothing() -> None:
            return None

        def floor() -> None:
            subprocess.run(
                [
                    "psql",
                    "-q",
                    "-X",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-h",
                    "127.0.0.1",
                    "-U",
                    "postgres",
                    "-d",
                    database,
                    "-f",
                    str(floor_script),
                ],
                check=True,
            )

        def store() -> None:
            upsert(engine, Candle.__table__, rows)

        def store_keeping() -> None:
            upsert(engine, Candle.__table__, rows, on_change=OnChange.KEEP)

        frame = pd.DataFrame(rows)

        def naive() -> None:
            frame.to_sql("candles_naive", engine, if_exists="append", index=False)

        figures = {
            "floor: psql \\copy + INSERT ON CONFLICT, first load": best_of(args.repeat, truncate, floor),
            "floor: psql \\copy + INSERT ON CONFLICT, re-load": best_of(args.repeat, nothing, floor),
            "store upsert, first load": best_of(args.repeat, truncate, store),
            "store upsert, idempotent re-load": best_of(args.repeat, nothing, store),
            "store upsert keeping stored rows, first load": best_of(args.repeat, truncate, store_keeping),
            "store upsert keeping stored rows, re-load": best_of(args.repeat, nothing, store_keeping),
        }
        with engine.connect() as connection:
            stored = connection.execute(text("SELECT count(*) FROM candles")).scalar_one()
        figures["naive DataFrame.to_sql (append, no upsert)"] = best_of(1, truncate, naive)

        engine.dispose()
    floor_first = args.rows / figures["floor: psql \\copy + INSERT ON CONFLICT, first load"]
    floor_again = args.rows / figures["floor: psql \\copy + INSERT ON CONFLICT, re-load"]
    print(f"rows: {args.rows:,}  best of {args.repeat}  (rows in table after re-loads: {stored:,})")
    for label, seconds in figures.items():
        rate = args.rows / seconds
        floor_rate = floor_again if "re-load" in label else floor_first
        print(f"{label:<52} {seconds:7.3f} s  {rate:>10,.0f} rows/s  {rate / floor_rate:5.2f} x floor")


if __name__ == "__main__":
    main()
