"""A candle file with a planted, learnable signal: for the tests where the gate must promote.

The bundled history is honest: its next-bar direction is about a coin flip and the gate refuses every
model trained on it (as it should). Where a test needs a promotion to happen for real (the stack test),
the exchange replays this file instead. It keeps the recording's times, volumes and the size of each
bar's move, and only re-draws the moves' signs: a bar reverses the previous one's direction with
probability ``reversal`` (0.5 would be no signal). A one-bar lagged return separates the two classes, so
every model family learns it, while the always-long and persistence baselines cannot. The moves are
``move_scale`` times the recording's, so that trading the signal pays the exchange's costs (at the
recording's own move sizes, 1,600 trades a quarter at 11 bp cost more than the 74 % calls earn, and the
gate rightly refuses).
"""

from __future__ import annotations

import gzip
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from alphapulse.sources.bundled import CANDLES_FILE, bundled_path

CENT = Decimal("0.01")


def write_planted_candles(
    path: Path,
    *,
    bars: int,
    reversal: float = 0.75,
    seed: int = 11,
    price_scale: float = 1.0,
    move_scale: float = 3.0,
) -> Path:
    """The last ``bars`` hourly bars of the bundled BTC/USDT history, with planted directions, as a
    gzip CSV (``timestamp`` in epoch ms, prices at cent precision) that ``--csv`` reads. Another seed and
    ``price_scale`` make another market (a second symbol) of the same kind."""
    raw = pd.read_csv(bundled_path(CANDLES_FILE), dtype=str).tail(bars + 1).reset_index(drop=True)
    close = raw["close"].astype(float).to_numpy() * price_scale
    sizes = move_scale * np.abs(np.diff(np.log(close)))
    rng = np.random.default_rng(seed)
    signs = np.empty(bars)
    signs[0] = 1.0
    flips = rng.random(bars) < reversal
    for index in range(1, bars):
        signs[index] = -signs[index - 1] if flips[index] else signs[index - 1]
    closes = close[0] * np.exp(np.cumsum(signs * np.maximum(sizes, 1e-4)))
    opens = np.concatenate([[close[0]], closes[:-1]])
    wick = 1 + np.minimum(sizes, 0.01) / 4
    times = pd.to_datetime(raw["open_time"].iloc[1:], format="%Y-%m-%d %H:%M:%S", utc=True)
    lines = ["timestamp,open,high,low,close,volume"]
    for when, low_high, opened, closed, volume in zip(
        times, wick, opens, closes, raw["volume"].iloc[1:], strict=True
    ):
        prices = [Decimal(f"{value:.2f}") for value in (opened, closed)]
        high = max(prices) * Decimal(f"{low_high:.6f}")
        low = min(prices) / Decimal(f"{low_high:.6f}")
        row = [prices[0], high.quantize(CENT), low.quantize(CENT), prices[1]]
        lines.append(f"{int(when.timestamp() * 1000)}," + ",".join(map(str, row)) + f",{volume}")
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return path
