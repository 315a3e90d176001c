"""Feature-matrix build time on the bundled data, and the cost of one online window.

    .venv/bin/python -m bench.features [--repeat 5]

Prints: the first build in this process (scores every headline with VADER and loads pandas-ta's
numba kernels), warm full builds (headline scores cached; best of --repeat), headline scoring alone,
and one online window (``online_window_bars``: back to the last bar's anchor) with its news lookback
(median of 50).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from alphapulse.features import build, build_online, load_config, online_window_bars
from alphapulse.features.sentiment import CachedScorer, VaderScorer
from alphapulse.sources.bundled import bundled_candles, bundled_news
from alphapulse.timeframes import timeframe_delta


def seconds(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    candles, news, config = bundled_candles(), bundled_news(), load_config()

    cold = seconds(lambda: build(candles, news, config))
    warm = min(seconds(lambda: build(candles, news, config)) for _ in range(args.repeat))
    titles = list(news["title"].fillna(""))
    scoring = seconds(lambda: CachedScorer(VaderScorer()).score_many(titles))
    matrix = build(candles, news, config)

    window = candles.iloc[-online_window_bars(config) :]
    # The window is computed from its anchor bar on, so its news reaches back the lookback before that bar.
    first_close = window["open_time"].iloc[0] + timeframe_delta(config.timeframe)
    recent = news[news["published_at"] > first_close - config.sentiment.news_lookback]
    online = statistics.median(seconds(lambda: build_online(window, recent, config)) for _ in range(50))

    print(f"bars {len(candles)}  headlines {len(news)}  features {len(matrix.feature_columns)}")
    print(f"version {matrix.version}  warm-up bars {matrix.warmup_bars}")
    print(f"full build, first in process (scores headlines): {cold:.3f} s")
    print(f"full build, headline scores cached (best of {args.repeat}): {warm:.3f} s")
    print(f"VADER scoring of {len(titles)} headlines alone: {scoring:.3f} s")
    print(f"online window of {len(window)} bars (median of 50): {online * 1000:.1f} ms")


if __name__ == "__main__":
    main()
