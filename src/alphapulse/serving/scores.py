"""A model's score of a bar's features, and a cache of the latest bar's score for answers that repeat it.

``/signal`` answers the same closed bar to every caller until the next one lands, so it scores through a
:class:`LatestScores`; ``/predict`` scores the client's own bars, so it calls :func:`score` directly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable

import pandas as pd

from alphapulse.serving.answer import bar_volatility
from alphapulse.serving.bundle import ServedModel
from alphapulse.serving.inputs import InputError

#: The probability that the label is up, and the bar's realized volatility (None when undefined).
Score = tuple[float, float | None]
#: How an endpoint scores a bar's features with one model.
Scorer = Callable[[ServedModel, pd.DataFrame], Score]


def score(model: ServedModel, features: pd.DataFrame) -> Score:
    """The model's score of a bar's features (a one-row frame, as both endpoints hold)."""
    probability = float(model.predictor.predict_proba(features)[0])
    if not math.isfinite(probability):
        raise InputError("candles", "the features of the last bar are undefined (gaps in the window?)")
    return probability, bar_volatility(features, model.config)


class LatestScores:
    """The latest bar's score per instrument and role, computed once per bar and model: repeating the
    model call for a bar already scored would only cost latency. A new bar, or a model a reload swapped
    in (another tag), is scored afresh."""

    def __init__(self) -> None:
        #: (symbol, timeframe, role) -> (model tag, bar time, score) of the latest bar.
        self._latest: dict[tuple[str, str, str], tuple[str, Hashable, Score]] = {}

    def score(self, model: ServedModel, features: pd.DataFrame) -> Score:
        key = (model.symbol, model.timeframe, model.role)
        bar = features.index[-1]
        cached = self._latest.get(key)
        if cached is not None and cached[0] == model.tag and cached[1] == bar:
            return cached[2]
        scored = score(model, features)
        self._latest[key] = (model.tag, bar, scored)
        return scored
