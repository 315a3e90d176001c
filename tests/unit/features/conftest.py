"""The bundled BTC/USDT hourly candles and crypto headlines, read into the features' input contract."""

from __future__ import annotations

import pandas as pd
import pytest

from alphapulse.features import FeatureConfig, load_config
from alphapulse.sources.bundled import bundled_candles, bundled_news


@pytest.fixture(scope="session")
def all_candles() -> pd.DataFrame:
    return bundled_candles()


@pytest.fixture(scope="session")
def news() -> pd.DataFrame:
    return bundled_news()


@pytest.fixture(scope="session")
def candles(all_candles: pd.DataFrame) -> pd.DataFrame:
    """About two months of hourly bars inside the news period: small enough to rebuild many times."""
    start = pd.Timestamp("2022-01-01", tz="UTC")
    window = all_candles[all_candles["open_time"] >= start].iloc[:1500]
    return window.reset_index(drop=True)


@pytest.fixture(scope="session")
def config() -> FeatureConfig:
    return load_config()
