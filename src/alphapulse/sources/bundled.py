"""The dataset that ships inside AlphaPulse (alphapulse/data/README.md), read straight into frames."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from alphapulse.settings import get_settings
from alphapulse.sources.csv_candles import CsvSource, read_candle_csv
from alphapulse.sources.modelled import BUNDLED_EXCHANGE
from alphapulse.sources.news import read_headline_dataset
from alphapulse.store.queries import candles_frame, news_frame

CANDLES_FILE = "ohlcv/binance_btcusdt_1h_2020-10_2025-10.csv.gz"
CANDLES_SOURCE = CsvSource(exchange=BUNDLED_EXCHANGE, symbol="BTC/USDT", timeframe="1h")
HEADLINES_FILE = "news/cryptonews_2021-10_2022-07.csv.gz"


def bundled_path(relative: str) -> Path:
    return get_settings().bundled_data_dir / relative


def bundled_candles() -> pd.DataFrame:
    _form, rows = read_candle_csv(bundled_path(CANDLES_FILE), CANDLES_SOURCE)
    return candles_frame(rows)


def bundled_news() -> pd.DataFrame:
    return news_frame(read_headline_dataset(bundled_path(HEADLINES_FILE)))
