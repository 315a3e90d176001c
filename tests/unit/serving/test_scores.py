"""``/signal``'s score cache: one model call per bar and model, whoever asks."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pandas as pd

from alphapulse.features import load_config
from alphapulse.serving.bundle import ServedModel
from alphapulse.serving.scores import LatestScores, score
from tests.unit.serving.bundles import COLUMNS, SYMBOL, TIMEFRAME, tiny_predictor


def _bar(hour: int, rsi: float) -> pd.DataFrame:
    index = pd.DatetimeIndex([datetime(2025, 10, 31, hour, tzinfo=UTC)], name="open_time")
    return pd.DataFrame([[0.004, rsi, 0.012]], columns=list(COLUMNS), index=index)


def test_a_bar_is_scored_once_per_model_and_a_new_bar_or_model_is_scored_afresh() -> None:
    config = load_config()
    model = ServedModel(
        predictor=tiny_predictor(config),
        config=config,
        symbol=SYMBOL,
        timeframe=TIMEFRAME,
        role="champion",
        tag="alphapulse-btc-usdt-1h:v1",
        labels={},
        loaded_at=datetime.now(UTC),
    )
    latest = LatestScores()
    first = latest.score(model, _bar(22, 61.0))
    assert first == score(model, _bar(22, 61.0))
    assert latest.score(model, _bar(22, 61.0)) is first, "the same bar: the cached score"
    newer = latest.score(model, _bar(23, 61.0))
    assert newer is not first, "a new bar: scored afresh"
    reloaded = replace(model, tag="alphapulse-btc-usdt-1h:v2")
    assert latest.score(reloaded, _bar(23, 61.0)) is not newer, "a model a reload swapped in: scored afresh"
