"""The HTTP contract of the service: request and answer models, money as exact decimal strings.

Money fields use ``alphapulse.money`` types, so the OpenAPI document says ``type: string`` for each and
a float is refused with the field's name. Accepted spellings of money: a JSON string matching
``alphapulse.money.DECIMAL_PATTERN`` (plain or scientific notation, "67012.55", "6.701255e4"), or a
JSON integer, storable in NUMERIC(38, 18); floats, NaN, Infinity, whitespace and out-of-range exponents
are refused naming the field. Each candle is checked on its own here (positive prices,
low <= open/close <= high); checks across candles (order, duplicates, window length) need the feature
set and live in ``serving.inputs``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, Strict, model_validator

from alphapulse.decisions import Call
from alphapulse.features.sentiment import Polarity
from alphapulse.money import Price, Quantity, to_text

#: The decision rule's call: "flat" inside the model's abstain band (see alphapulse.decisions).
Direction = Call
Role = Literal["champion", "challenger"]


def _positive(value: Decimal) -> Decimal:
    if value <= 0:
        raise ValueError(f"{to_text(value)} is not a positive price")
    return value


WirePrice = Annotated[Price, AfterValidator(_positive)]
Symbol = Annotated[str, Field(min_length=1, max_length=32, examples=["BTC/USDT"])]
#: Most candles and headlines one /predict may send (the body cap in ``serving.endpoints`` also holds).
MAX_CANDLES = 20_000
MAX_HEADLINES = 20_000
#: Most headlines one /sentiment may compare: it bounds the work of one request (each scorer reads them
#: all; FinBERT in batches of at most 128 tokens per headline).
MAX_COMPARED_HEADLINES = 64
Timeframe = Annotated[str, Field(min_length=2, max_length=8, examples=["1h"])]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SignalRequest(_Wire):
    """``POST /signal``: which instrument's latest closed bar."""

    symbol: Symbol
    timeframe: Timeframe


class CandleIn(_Wire):
    """One closed bar; ``open_time`` must carry a UTC offset (naive times are refused)."""

    open_time: AwareDatetime
    open: WirePrice
    high: WirePrice
    low: WirePrice
    close: WirePrice
    volume: Quantity

    @model_validator(mode="after")
    def _consistent(self) -> CandleIn:
        if self.high < self.low:
            raise ValueError(f"high {to_text(self.high)} is below low {to_text(self.low)}")
        for name in ("open", "close"):
            value: Decimal = getattr(self, name)
            if not self.low <= value <= self.high:
                raise ValueError(f"{name} {to_text(value)} is outside [low, high]")
        return self


class HeadlineIn(_Wire):
    published_at: AwareDatetime
    title: str = Field(max_length=1000)


class ModelRef(_Wire):
    """Which model gave an answer, in the answer itself: enough to find its version in MLflow and the
    prediction log (a ``ServedModelInfo`` in short)."""

    name: str
    version: str
    feature_set: str


class Prediction(_Wire):
    """One answer; ``as_of`` is the open time of the bar whose close the prediction starts from."""

    #: Also in the prediction log, so a client can find this answer's outcome later.
    request_id: str
    symbol: str
    timeframe: str
    as_of: datetime
    bar_close_time: datetime = Field(description="When the bar at as_of closed (as_of + timeframe), UTC.")
    age_seconds: float = Field(
        description="Seconds from bar_close_time to when the answer was computed: how old the bar is."
    )
    direction: Direction
    position: float = Field(
        description="The position the model's decision rule holds over the next bar: +1 long, -1 short, "
        "0 flat (scaled by the volatility target when the rule has one)."
    )
    probability_up: float
    #: Expected log return over the label horizon: (2p - 1) * E|r|, E|r| from the bar's realized vol.
    expected_return: float | None
    reference_price: Price
    model: ModelRef
    latency_ms: float


class StaleBar(_Wire):
    """Why ``/signal`` refused: its latest bar is older than ``ALPHAPULSE_SERVING_MAX_AGE_BARS`` bars."""

    error: Literal["stale"] = "stale"
    reason: str
    symbol: str
    timeframe: str
    as_of: datetime = Field(description="Open time of the latest bar the service has, UTC.")
    bar_close_time: datetime
    age_seconds: float
    max_age_seconds: float


class StoreUnreachable(_Wire):
    """Why ``/signal`` could not answer: this worker has not read the instrument's features, because the
    store has not answered since it loaded the model (it started, or reloaded, during a database outage).
    The features may well exist, so this is a 503 to retry, not a 404."""

    error: Literal["store_unreachable"] = "store_unreachable"
    reason: str
    symbol: str
    timeframe: str
    feature_set: str


class ErrorBody(_Wire):
    """Every 4xx and 5xx answer of the service, whichever layer refused (access, schema, library).

    ``error`` is a stable code a client can branch on; ``message`` is for people and never longer than
    ``MAX_MESSAGE`` characters, whatever the request held; ``field`` is the JSON path of the culprit
    when one field is to blame; ``detail`` carries the structured facts of a 503 (a stale bar, a store
    this worker could not read).
    """

    error: str = Field(examples=["invalid_request"])
    message: str = Field(examples=["candles[3].close: 1.5 is a float; send a decimal string"])
    field: str | None = Field(default=None, examples=["candles[3].close"])
    detail: StaleBar | StoreUnreachable | None = None


class PredictRequest(_Wire):
    """``POST /predict``: the client's latest closed bars of one instrument (ascending) and, optionally,
    headlines; the service completes the window from its store (docs/SERVING.md)."""

    symbol: Symbol
    timeframe: Timeframe
    candles: list[CandleIn] = Field(min_length=1, max_length=MAX_CANDLES)
    headlines: list[HeadlineIn] = Field(default=[], max_length=MAX_HEADLINES)


class FeatureRowIn(_Wire):
    """A precomputed feature row for ``/predict_batch``: values by feature name, as the model was trained."""

    symbol: Symbol
    timeframe: Timeframe
    #: Strict: JSON numbers only (``true`` is not 1.0).
    features: dict[str, Annotated[float, Strict()] | None]


class BatchPrediction(_Wire):
    """One row's answer, or its ``error`` (a batch shares one model call, so rows fail one by one)."""

    probability_up: float | None = None
    direction: Direction | None = None
    model: ModelRef | None = None
    error: str | None = None


class ServedModelInfo(_Wire):
    """One model a worker serves, as ``GET /model`` describes it: the wire form of ``ServedModel``."""

    symbol: str
    timeframe: str
    role: Role
    bento_tag: str
    registered_model: str
    mlflow_version: str
    feature_set: str
    family: str
    data_start: str
    data_end: str
    loaded_at: datetime


class ModelSetInfo(_Wire):
    """Every model a worker serves (``GET /model``, ``POST /admin/reload``): the wire form of ``ModelSet``;
    ``shadow`` says whether challengers are scored beside the champions."""

    models: list[ServedModelInfo]
    shadow: bool
    bento: str | None = Field(
        default=None, description="Tag of the Bento this worker runs (null when served from a checkout)."
    )


class ModelPerformance(_Wire):
    """One model version's live record on the bars it answered, one prediction per bar (the first)."""

    symbol: str
    timeframe: str
    role: Role
    model_version: str
    horizon_bars: int = Field(description="Bars after the answered bar at which the outcome is judged.")
    requests: int = Field(description="Answers given (prediction-log rows).")
    bars: int = Field(description="Distinct bars answered.")
    resolved: int = Field(description="Bars whose outcome is known.")
    abstained: int = Field(
        description="Resolved bars answered flat (inside the model's abstain band): not in the accuracy."
    )
    accuracy: float | None = Field(
        description="Share of the resolved bars called up or down that were right."
    )
    accuracy_low: float | None = Field(description="Lower end of the Wilson 95% interval of accuracy.")
    accuracy_high: float | None = Field(description="Upper end of the Wilson 95% interval of accuracy.")


class PerformanceInfo(_Wire):
    """``GET /models/performance``: live accuracy of every served instrument's models."""

    computed_at: datetime
    models: list[ModelPerformance]


__all__ = [
    "BatchPrediction",
    "CandleIn",
    "Direction",
    "ErrorBody",
    "FeatureRowIn",
    "HeadlineIn",
    "ModelPerformance",
    "ModelRef",
    "ModelSetInfo",
    "PerformanceInfo",
    "PredictRequest",
    "Prediction",
    "Role",
    "ServedModelInfo",
    "StaleBar",
    "StoreUnreachable",
    "Symbol",
    "Timeframe",
]


Headline = Annotated[str, Field(min_length=1, max_length=1000, examples=["Bitcoin ETF inflows hit a record"])]


class SentimentRequest(_Wire):
    """``POST /sentiment``: headlines to read with every configured scorer."""

    headlines: list[Headline] = Field(min_length=1, max_length=MAX_COMPARED_HEADLINES)


class ScorerReading(_Wire):
    scorer: str = Field(examples=["vader"])
    score: float = Field(ge=-1, le=1, description="Compound sentiment in [-1, 1].")
    polarity: Polarity = Field(description="The score read through the feature set's neutral band.")


class HeadlineSentiment(_Wire):
    text: str
    readings: list[ScorerReading] = Field(description="One per configured scorer, in the configured order.")
    consensus: Polarity | None = Field(description="The polarity every scorer reads; null when they differ.")
    agreement: float = Field(description="Share of the scorers reading the most common polarity.")


class SentimentComparison(_Wire):
    scorers: list[str] = Field(description="ALPHAPULSE_SERVING_SENTIMENT_SCORERS, in order.")
    neutral_band: float = Field(description="|score| below this reads neutral (the feature set's band).")
    unanimity: float = Field(description="Share of the headlines on which every scorer agrees.")
    headlines: list[HeadlineSentiment]
