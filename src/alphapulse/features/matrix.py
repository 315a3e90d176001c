"""The one feature builder: training calls ``build`` on the history, serving ``build_online`` on a window.

Both run the same code, so a model never sees features computed differently online than offline.
Every feature at bar t is a function of bars up to t and headlines published up to t's close only;
labels are the only columns that look forward, and they are kept apart (``label_*``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from alphapulse.features.config import FeatureConfig, SentimentConfig
from alphapulse.features.labels import make_labels
from alphapulse.features.news_join import join_news, sentiment_columns
from alphapulse.features.sentiment import get_scorer
from alphapulse.features.technical import compute_indicators, indicators_warmup
from alphapulse.features.version import feature_set_version
from alphapulse.timeframes import timeframe_delta

OHLCV = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class FeatureMatrix:
    """Features, the float ``close`` reference and labels, indexed by bar open time (UTC)."""

    frame: pd.DataFrame
    feature_columns: tuple[str, ...]
    version: str
    warmup_bars: int
    config: FeatureConfig


def warmup_bars(config: FeatureConfig) -> int:
    """Leading bars to discard; an online window needs at least this many bars plus the current one."""
    return indicators_warmup(config.indicators)


def build(candles: pd.DataFrame, news: pd.DataFrame, config: FeatureConfig) -> FeatureMatrix:
    index = _open_times(candles)
    bars = pd.DataFrame({name: candles[name].to_numpy().astype(np.float64) for name in OHLCV}, index=index)
    technical = compute_indicators(bars, config.indicators)
    close_time = index + timeframe_delta(config.timeframe)
    sentiment = _news_features(index, close_time, news, config.sentiment)
    labels = make_labels(bars["close"], close_time, config.labels)
    frame = pd.concat([technical, sentiment, bars[["close"]], labels], axis=1)
    return FeatureMatrix(
        frame=frame,
        feature_columns=(*technical.columns, *sentiment.columns),
        version=feature_set_version(config),
        warmup_bars=warmup_bars(config),
        config=config,
    )


def build_online(
    candles_window: pd.DataFrame, news_window: pd.DataFrame, config: FeatureConfig
) -> pd.DataFrame:
    """The latest bar's features as a one-row frame, from the last ``warmup_bars + 1`` bars or more.

    ``news_window`` must reach back ``config.sentiment.news_lookback`` before the last bar's close.
    """
    needed = warmup_bars(config) + 1
    if len(candles_window) < needed:
        raise ValueError(f"online window has {len(candles_window)} bars; the feature set needs {needed}")
    matrix = build(candles_window, news_window, config)
    return matrix.frame.iloc[[-1]][list(matrix.feature_columns)]


def trainable(matrix: FeatureMatrix) -> pd.DataFrame:
    """Rows a model may train on: past the warm-up, with a label that is already known."""
    frame = matrix.frame.iloc[matrix.warmup_bars :]
    return frame[frame["label_return"].notna()]


def _open_times(candles: pd.DataFrame) -> pd.DatetimeIndex:
    index = pd.DatetimeIndex(candles["open_time"], name="open_time")
    if index.tz is None:
        raise ValueError("candles.open_time is naive; AlphaPulse works in UTC only")
    index = index.tz_convert("UTC").as_unit("ns")
    if not index.is_monotonic_increasing or not index.is_unique:
        raise ValueError("candles.open_time must be strictly ascending (sorted, no duplicate bars)")
    return index


def _news_features(
    open_time: pd.DatetimeIndex, close_time: pd.DatetimeIndex, news: pd.DataFrame, config: SentimentConfig
) -> pd.DataFrame:
    published = pd.DatetimeIndex(news["published_at"])
    if len(published) and published.tz is None:
        raise ValueError("news.published_at is naive; AlphaPulse works in UTC only")
    published_ns = published.tz_convert("UTC").as_unit("ns").asi8 if len(published) else np.empty(0, np.int64)
    titles = news["title"].fillna("").astype(str).to_numpy()
    close_ns = close_time.asi8
    # Only headlines that can reach some bar get scored; sorting by (time, title) makes the float sums
    # independent of the input's row order, which byte-identical rebuilds need.
    lookback_ns = pd.Timedelta(config.news_lookback).value
    if len(close_ns):
        reachable = (published_ns > close_ns[0] - lookback_ns) & (published_ns <= close_ns[-1])
    else:
        reachable = np.zeros(len(published_ns), dtype=bool)
    relevant = np.flatnonzero(reachable)
    order = relevant[np.lexsort((titles[relevant], published_ns[relevant]))]
    scores = get_scorer(config.scorer).score_many(list(titles[order]))
    columns = join_news(open_time.asi8, close_ns, published_ns[order], scores, config)
    return pd.DataFrame({name: columns[name] for name in sentiment_columns(config)}, index=open_time)
