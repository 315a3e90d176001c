"""From a probability to the answer the client reads: direction and an expected return.

The champion is a direction classifier, so the expected return is derived, not predicted: with a
symmetric move size, E[r] = (P(up) - P(down)) * E|r|, and for normally distributed bar returns
E|r| = sigma * sqrt(2 / pi) * sqrt(horizon), sigma being the bar's realized volatility feature (the
shortest one of the feature set). No realized-volatility feature, or an undefined one: no estimate.
"""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal

import numpy as np
import pandas as pd

from alphapulse.features import FeatureConfig
from alphapulse.features.technical import RealizedVolatility
from alphapulse.serving.bundle import ServedModel
from alphapulse.serving.freshness import bar_age
from alphapulse.serving.schemas import Direction, Prediction

_MEAN_ABS_OF_STD_NORMAL = math.sqrt(2.0 / math.pi)


def direction(probability_up: float) -> Direction:
    return "up" if probability_up >= 0.5 else "down"


def volatility_column(config: FeatureConfig) -> str | None:
    lengths = [n for i in config.indicators if isinstance(i, RealizedVolatility) for n in i.lengths]
    return f"rvol_{min(lengths)}" if lengths else None


def expected_return(probability_up: float, volatility: float | None, horizon_bars: int) -> float | None:
    if volatility is None or not math.isfinite(volatility):
        return None
    return (2.0 * probability_up - 1.0) * volatility * _MEAN_ABS_OF_STD_NORMAL * math.sqrt(horizon_bars)


def bar_volatility(features: pd.DataFrame, config: FeatureConfig) -> float | None:
    column = volatility_column(config)
    if column is None or column not in features.columns:
        return None
    value = float(np.asarray(features[column])[-1])
    return value if math.isfinite(value) else None


def prediction(
    model: ServedModel,
    *,
    request_id: str,
    symbol: str,
    as_of: datetime,
    probability_up: float,
    volatility: float | None,
    reference_price: Decimal,
    latency_ms: float,
    now: datetime,
) -> Prediction:
    age = bar_age(as_of, model.timeframe, now)
    return Prediction(
        request_id=request_id,
        symbol=symbol,
        timeframe=model.timeframe,
        as_of=as_of,
        bar_close_time=age.bar_close_time,
        age_seconds=age.age_seconds,
        direction=direction(probability_up),
        probability_up=probability_up,
        expected_return=expected_return(probability_up, volatility, model.config.labels.horizon_bars),
        reference_price=reference_price,
        model=model.ref,
        latency_ms=latency_ms,
    )
