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

from alphapulse import decisions
from alphapulse.decisions import FittedRule
from alphapulse.features import FeatureConfig
from alphapulse.features.technical import volatility_column
from alphapulse.serving.bundle import ServedModel
from alphapulse.serving.freshness import bar_age
from alphapulse.serving.schemas import Prediction

_MEAN_ABS_OF_STD_NORMAL = math.sqrt(2.0 / math.pi)


def expected_return(probability_up: float, volatility: float | None, horizon_bars: int) -> float | None:
    if volatility is None or not math.isfinite(volatility):
        return None
    return (2.0 * probability_up - 1.0) * volatility * _MEAN_ABS_OF_STD_NORMAL * math.sqrt(horizon_bars)


def held_position(rule: FittedRule, probability_up: float, volatility: float | None) -> float:
    """The rule's position for this answer; an unknown volatility sizes a volatility-targeted rule to 0."""
    bar = np.array([np.nan if volatility is None else volatility])
    return float(decisions.positions(rule, np.array([probability_up]), rule.abstain, bar)[0])


def bar_volatility(features: pd.DataFrame, config: FeatureConfig) -> float | None:
    column = volatility_column(config.indicators)
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
        direction=decisions.call(probability_up, model.rule.abstain),
        position=held_position(model.rule, probability_up, volatility),
        probability_up=probability_up,
        expected_return=expected_return(probability_up, volatility, model.config.labels.horizon_bars),
        reference_price=reference_price,
        model=model.ref,
        latency_ms=latency_ms,
    )
