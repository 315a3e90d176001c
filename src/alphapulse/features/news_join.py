"""As-of join of scored headlines to bars: a bar sees only headlines published at or before its close.

Two views per bar. The bar's own headlines (published in (open, close]) give count, mean/max/min
compound and the positive/negative shares. The decayed view weighs every headline of the last
``horizon_half_lives`` half-lives by 2**(-age / half-life): a sentiment mean and a news intensity.
Both are vectorised with ``np.searchsorted`` over sorted timestamps; bars without news read 0, never
NaN, so models work for instruments and periods with no news at all.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from alphapulse.features.config import SentimentConfig
from alphapulse.timeframes import timeframe_delta

Floats = npt.NDArray[np.float64]
Nanos = npt.NDArray[np.int64]

#: Bound on headline-bar pairs held at once by the decayed view (memory, not results, depends on it).
_PAIRS_PER_CHUNK = 2_000_000


def sentiment_columns(config: SentimentConfig) -> tuple[str, ...]:
    decayed = [f"news_{kind}_{h}" for h in config.half_lives for kind in ("decay", "intensity")]
    return (
        "news_count",
        "news_compound_mean",
        "news_compound_max",
        "news_compound_min",
        "news_pos_share",
        "news_neg_share",
        *decayed,
    )


def join_news(
    open_ns: Nanos,
    close_ns: Nanos,
    published_ns: Nanos,
    scores: Floats,
    config: SentimentConfig,
) -> dict[str, Floats]:
    """Per-bar news features; timestamps are int64 epoch nanoseconds, headlines sorted by time."""
    columns = _per_bar(open_ns, close_ns, published_ns, scores, config.neutral_band)
    for half_life in config.half_lives:
        seconds = timeframe_delta(half_life).total_seconds()
        decay, intensity = _decayed(close_ns, published_ns, scores, seconds, config.horizon_half_lives)
        columns[f"news_decay_{half_life}"] = decay
        columns[f"news_intensity_{half_life}"] = intensity
    return columns


def _per_bar(
    open_ns: Nanos, close_ns: Nanos, published_ns: Nanos, scores: Floats, band: float
) -> dict[str, Floats]:
    bars = len(close_ns)
    # The first bar closing at or after publication; a headline in a gap before that bar's open is
    # left to the decayed view rather than attributed to a bar it was not published in.
    bar = np.searchsorted(close_ns, published_ns, side="left")
    inside = bar < bars
    inside[inside] = published_ns[inside] > open_ns[bar[inside]]
    bar, own = bar[inside], scores[inside]
    count = np.bincount(bar, minlength=bars).astype(np.float64)
    seen = count > 0
    safe = np.where(seen, count, 1.0)
    highest = np.full(bars, -np.inf)
    lowest = np.full(bars, np.inf)
    np.maximum.at(highest, bar, own)
    np.minimum.at(lowest, bar, own)
    return {
        "news_count": count,
        "news_compound_mean": np.bincount(bar, weights=own, minlength=bars) / safe,
        "news_compound_max": np.where(seen, highest, 0.0),
        "news_compound_min": np.where(seen, lowest, 0.0),
        "news_pos_share": np.bincount(bar, weights=(own >= band).astype(float), minlength=bars) / safe,
        "news_neg_share": np.bincount(bar, weights=(own <= -band).astype(float), minlength=bars) / safe,
    }


def _decayed(
    close_ns: Nanos, published_ns: Nanos, scores: Floats, half_life_s: float, horizon: int
) -> tuple[Floats, Floats]:
    bars = len(close_ns)
    horizon_ns = np.int64(round(half_life_s * horizon * 1e9))
    first = np.searchsorted(published_ns, close_ns - horizon_ns, side="right")
    last = np.searchsorted(published_ns, close_ns, side="right")
    sizes = last - first
    weighted = np.zeros(bars)
    weights = np.zeros(bars)
    start = 0
    ends = np.cumsum(sizes)
    while start < bars:
        budget = (ends[start - 1] if start else 0) + _PAIRS_PER_CHUNK
        stop = max(start + 1, int(np.searchsorted(ends, budget, side="right")))
        chunk = slice(start, stop)
        counts = sizes[chunk]
        bar = np.repeat(np.arange(start, stop), counts)
        # Index of each pair's headline: consecutive runs first[b] .. last[b] - 1 for each bar b.
        offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        headline = np.repeat(first[chunk], counts) + offsets
        age_s = (close_ns[bar] - published_ns[headline]) / 1e9
        weight = np.exp2(-age_s / half_life_s)
        weighted += np.bincount(bar, weights=weight * scores[headline], minlength=bars)
        weights += np.bincount(bar, weights=weight, minlength=bars)
        start = stop
    decay = np.divide(weighted, weights, out=np.zeros(bars), where=weights > 0)
    return decay, weights
