"""The one feature builder: training calls ``build`` on the history, serving ``build_online`` on a window.

Both run the same code on the same bars, so a model never sees features computed differently online
than offline, to the last bit. Recursive indicators (EMA, Wilder smoothing, the OBV sum) remember where
their series started, so "the same bars" needs a rule: features are computed on an epoch-anchored grid.
Bar ``i`` (its open time in whole timeframes since 1970-01-01) is computed on the bars from its anchor
``floor((i - W) / B) * B`` up to itself (``W`` the warm-up, ``B`` ``anchor_block_bars``). ``build`` runs
one computation per anchor and keeps the bars sharing it; ``build_online`` runs the same computation
on the client's bars from the last bar's anchor, which at most ``W + B`` bars always cover.

Every feature at bar t is a function of bars up to t and headlines published up to t's close only;
labels are the only columns that look forward, and they are kept apart (``label_*``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from alphapulse.features.config import FeatureConfig, SentimentConfig
from alphapulse.features.labels import make_labels
from alphapulse.features.news_join import join_news, sentiment_columns
from alphapulse.features.sentiment import get_scorer
from alphapulse.features.technical import compute_indicators, indicators_warmup
from alphapulse.features.version import feature_set_version
from alphapulse.timeframes import timeframe_delta

OHLCV = ("open", "high", "low", "close", "volume")

BarNumbers = npt.NDArray[np.int64]


@dataclass(frozen=True)
class FeatureMatrix:
    """Features, the float ``close`` reference and labels, indexed by bar open time (UTC)."""

    frame: pd.DataFrame
    feature_columns: tuple[str, ...]
    version: str
    warmup_bars: int
    config: FeatureConfig


def warmup_bars(config: FeatureConfig) -> int:
    """Leading bars of a computation whose values are undefined or still remember the series' start."""
    return indicators_warmup(config.indicators)


def online_window_bars(config: FeatureConfig) -> int:
    """Bars an online window needs at most: the last bar's anchor is never further back than this."""
    return warmup_bars(config) + config.anchor_block_bars


def anchor_time(last_open: pd.Timestamp, config: FeatureConfig) -> pd.Timestamp:
    """Open time of the first bar the computation of the bar opening at ``last_open`` starts from."""
    step = pd.Timedelta(timeframe_delta(config.timeframe)).value
    number = np.array([pd.Timestamp(last_open).value // step], dtype=np.int64)
    return pd.Timestamp(int(_anchors(number, config)[0]) * step, tz="UTC")


def build(candles: pd.DataFrame, news: pd.DataFrame, config: FeatureConfig) -> FeatureMatrix:
    index = _open_times(candles)
    bars = _float_bars(candles, index)
    numbers = _bar_numbers(index, config)
    anchors = _anchors(numbers, config)
    # Bars sharing an anchor form one block; each block is computed from its anchor on.
    block_starts = np.flatnonzero(np.diff(anchors, prepend=anchors[:1] - 1))
    block_ends = [*block_starts[1:], len(index)]
    pieces = []
    for first, stop in zip(block_starts, block_ends, strict=True):
        origin = int(np.searchsorted(numbers, anchors[first], side="left"))
        window = _window_features(bars.iloc[origin:stop], news, config)
        pieces.append(window.iloc[first - origin :])
    features = pd.concat(pieces) if pieces else _window_features(bars, news, config)
    close_time = index + timeframe_delta(config.timeframe)
    labels = make_labels(bars["close"], close_time, config.labels)
    frame = pd.concat([features, bars[["close"]], labels], axis=1)
    return FeatureMatrix(
        frame=frame,
        feature_columns=tuple(features.columns),
        version=feature_set_version(config),
        warmup_bars=warmup_bars(config),
        config=config,
    )


def build_online(
    candles_window: pd.DataFrame, news_window: pd.DataFrame, config: FeatureConfig
) -> pd.DataFrame:
    """The latest bar's features as a one-row frame, bit-identical to its row of ``build``.

    ``candles_window`` must reach back to the last bar's anchor (``online_window_bars`` bars always
    do); ``news_window`` must hold the headlines published from ``news_lookback`` before the anchor
    bar's close up to the last bar's close (more is harmless: the join ignores the rest).
    """
    index = _open_times(candles_window)
    if len(index) == 0:
        raise ValueError("online window is empty")
    numbers = _bar_numbers(index, config)
    anchor = int(_anchors(numbers[-1:], config)[0])
    if numbers[0] > anchor:
        raise ValueError(
            f"online window starts at {index[0].isoformat()}; the bar at {index[-1].isoformat()} needs "
            f"candles from {anchor_time(index[-1], config).isoformat()} "
            f"(the last {online_window_bars(config)} bars always suffice)"
        )
    origin = int(np.searchsorted(numbers, anchor, side="left"))
    features = _window_features(_float_bars(candles_window, index).iloc[origin:], news_window, config)
    return features.iloc[[-1]]


def trainable_mask(frame: pd.DataFrame, warmup_bars: int) -> npt.NDArray[np.bool_]:
    """The one definition of the rows a model may train on: past the warm-up, with a label that is already
    known. ``features build`` counts them, training keeps them."""
    keep = np.zeros(len(frame), dtype=bool)
    keep[warmup_bars:] = True
    keep &= frame["label_up"].notna().to_numpy(dtype=bool) & frame["label_return"].notna().to_numpy(
        dtype=bool
    )
    return keep


def trainable(matrix: FeatureMatrix) -> pd.DataFrame:
    """The trainable rows themselves (see ``trainable_mask``)."""
    return matrix.frame.loc[trainable_mask(matrix.frame, matrix.warmup_bars)]


def _open_times(candles: pd.DataFrame) -> pd.DatetimeIndex:
    index = pd.DatetimeIndex(candles["open_time"], name="open_time")
    if index.tz is None:
        raise ValueError("candles.open_time is naive; AlphaPulse works in UTC only")
    index = index.tz_convert("UTC").as_unit("ns")
    if not index.is_monotonic_increasing or not index.is_unique:
        raise ValueError("candles.open_time must be strictly ascending (sorted, no duplicate bars)")
    return index


def _float_bars(candles: pd.DataFrame, index: pd.DatetimeIndex) -> pd.DataFrame:
    return pd.DataFrame({name: candles[name].to_numpy().astype(np.float64) for name in OHLCV}, index=index)


def _bar_numbers(index: pd.DatetimeIndex, config: FeatureConfig) -> BarNumbers:
    """Whole timeframes since the epoch: the bar's position on the grid, whatever rows are missing."""
    step = pd.Timedelta(timeframe_delta(config.timeframe)).value
    return np.asarray(index.asi8 // step, dtype=np.int64)


def _anchors(numbers: BarNumbers, config: FeatureConfig) -> BarNumbers:
    block = config.anchor_block_bars
    return np.asarray((numbers - warmup_bars(config)) // block * block, dtype=np.int64)


def _window_features(bars: pd.DataFrame, news: pd.DataFrame, config: FeatureConfig) -> pd.DataFrame:
    """Technical and sentiment features of one computation window (the unit both builders share)."""
    technical = compute_indicators(bars, config.indicators)
    close_time = bars.index + timeframe_delta(config.timeframe)
    sentiment = _news_features(pd.DatetimeIndex(bars.index), close_time, news, config.sentiment)
    return pd.concat([technical, sentiment], axis=1)


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
