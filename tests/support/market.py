"""Recent bars of the bundled BTC/USDT history, quickly: read with pandas instead of the product's reader,
which validates all five years of rows (the tests that use this need a few months)."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd

from alphapulse.sources.bundled import CANDLES_FILE, bundled_path

PRICES = ("open", "high", "low", "close", "volume")


def recent_bundled_candles(bars: int) -> pd.DataFrame:
    """The last ``bars`` hourly candles: UTC ``open_time``, prices as ``Decimal`` like the store's."""
    raw = pd.read_csv(bundled_path(CANDLES_FILE), dtype=str).tail(bars).reset_index(drop=True)
    frame = raw.assign(open_time=pd.to_datetime(raw["open_time"], format="%Y-%m-%d %H:%M:%S", utc=True))
    for name in PRICES:
        frame[name] = frame[name].map(Decimal)
    return frame


def candle_rows(candles: pd.DataFrame, symbol: str = "BTC/USDT") -> list[dict[str, object]]:
    """Rows for ``upsert(engine, CANDLES, ...)``; float prices are written at cent precision."""
    return [
        {
            "exchange": "binance",
            "symbol": symbol,
            "timeframe": "1h",
            "open_time": pd.Timestamp(row.open_time).to_pydatetime(),
            **{name: _money(getattr(row, name)) for name in PRICES},
        }
        for row in candles.itertuples()
    ]


def _money(value: object) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(f"{float(value):.2f}")  # type: ignore[arg-type]
