"""The technical indicator set: each indicator is a declared, validated config entry computed with pandas-ta.

Every output is scale-free (a ratio, a bounded oscillator rescaled to [0, 1], or a z-score), so a model
trained on BTC at 10k transfers to BTC at 100k or to another instrument. Each indicator also declares
its warm-up: the number of leading bars whose value is undefined or still remembers how the series
started. Recursive indicators (EMA, Wilder's RMA) never forget completely, so their warm-up is the
number of bars after which the start's remaining weight is below ``SEED_TOLERANCE``; past that, a
window of the warm-up length reproduces the full-history value to that tolerance, which is what lets
serving compute on a short window.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Annotated, ClassVar, Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import pandas_ta as ta
from pydantic import BaseModel, ConfigDict, Field

#: Weight the seed of a recursive average may still carry once warm-up is over.
SEED_TOLERANCE: Final = 1e-6

Family = Literal["trend", "momentum", "volatility", "volume"]
Columns = dict[str, pd.Series]


def recursive_memory(alpha: float) -> int:
    """Bars until an exponential average with smoothing ``alpha`` has forgotten its seed to tolerance."""
    return math.ceil(math.log(SEED_TOLERANCE) / math.log(1.0 - alpha))


def _wilder_memory(length: int) -> int:
    return recursive_memory(1.0 / length)


def _ema_memory(length: int) -> int:
    return recursive_memory(2.0 / (length + 1))


def _sma_warmup(length: int) -> int:
    """Bars to blank for a pandas-ta SMA (also the middle Bollinger band) of ``length``.

    pandas-ta's SMA is ``np.convolve``, which sums a series of exactly ``length`` rows in another order
    than the same window inside a longer series, so that first full window's value can differ in the
    last bits depending on whether later bars exist. Blanking it keeps every bar's value independent of
    what follows, which bit-exact train/serve parity relies on.
    """
    return length


def _series(value: pd.Series | None, bars: pd.DataFrame) -> pd.Series:
    """pandas-ta returns None, not NaNs, when the input is shorter than its window; restore the NaNs."""
    return pd.Series(np.nan, index=bars.index) if value is None else value


def _frame(value: pd.DataFrame | None, bars: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(np.nan, index=bars.index, columns=columns) if value is None else value


def _zscore(series: pd.Series, length: int) -> pd.Series:
    rolling = series.rolling(length, min_periods=length)
    return (series - rolling.mean()) / rolling.std(ddof=0)


class Indicator(BaseModel, ABC):
    """One entry of the indicator set; subclasses add their parameters as validated fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    family: ClassVar[Family]

    @abstractmethod
    def compute(self, bars: pd.DataFrame) -> Columns:
        """Feature columns from float OHLCV bars (columns open, high, low, close, volume)."""

    @property
    @abstractmethod
    def warmup(self) -> int:
        """Leading bars whose values are undefined or still depend on where the series started."""


class LogReturn(Indicator):
    kind: Literal["log_return"] = "log_return"
    lags: tuple[int, ...] = Field(min_length=1)
    family: ClassVar[Family] = "momentum"

    def compute(self, bars: pd.DataFrame) -> Columns:
        return {f"logret_{lag}": _series(ta.log_return(bars["close"], length=lag), bars) for lag in self.lags}

    @property
    def warmup(self) -> int:
        return max(self.lags)


class PercentReturn(Indicator):
    kind: Literal["percent_return"] = "percent_return"
    lags: tuple[int, ...] = Field(min_length=1)
    family: ClassVar[Family] = "momentum"

    def compute(self, bars: pd.DataFrame) -> Columns:
        return {
            f"ret_{lag}": _series(ta.percent_return(bars["close"], length=lag), bars) for lag in self.lags
        }

    @property
    def warmup(self) -> int:
        return max(self.lags)


class SmaRatio(Indicator):
    """Distance of the close from its simple moving averages, as a fraction of the average."""

    kind: Literal["sma_ratio"] = "sma_ratio"
    lengths: tuple[int, ...] = Field(min_length=1)
    family: ClassVar[Family] = "trend"

    def compute(self, bars: pd.DataFrame) -> Columns:
        close = bars["close"]
        return {f"sma_ratio_{n}": close / _series(ta.sma(close, length=n), bars) - 1.0 for n in self.lengths}

    @property
    def warmup(self) -> int:
        return max(_sma_warmup(n) for n in self.lengths)


class EmaRatio(Indicator):
    kind: Literal["ema_ratio"] = "ema_ratio"
    lengths: tuple[int, ...] = Field(min_length=1)
    family: ClassVar[Family] = "trend"

    def compute(self, bars: pd.DataFrame) -> Columns:
        close = bars["close"]
        return {f"ema_ratio_{n}": close / _series(ta.ema(close, length=n), bars) - 1.0 for n in self.lengths}

    @property
    def warmup(self) -> int:
        return max(n - 1 + _ema_memory(n) for n in self.lengths)


class Rsi(Indicator):
    kind: Literal["rsi"] = "rsi"
    length: int = Field(default=14, ge=2)
    family: ClassVar[Family] = "momentum"

    def compute(self, bars: pd.DataFrame) -> Columns:
        return {f"rsi_{self.length}": _series(ta.rsi(bars["close"], length=self.length), bars) / 100.0}

    @property
    def warmup(self) -> int:
        return self.length + _wilder_memory(self.length)


class Macd(Indicator):
    """MACD line, signal and histogram divided by the close, so they read as fractions of price."""

    kind: Literal["macd"] = "macd"
    fast: int = Field(default=12, ge=2)
    slow: int = Field(default=26, ge=3)
    signal: int = Field(default=9, ge=2)
    family: ClassVar[Family] = "momentum"

    def compute(self, bars: pd.DataFrame) -> Columns:
        close = bars["close"]
        suffix = f"{self.fast}_{self.slow}_{self.signal}"
        names = [f"MACD_{suffix}", f"MACDs_{suffix}", f"MACDh_{suffix}"]
        macd = _frame(ta.macd(close, fast=self.fast, slow=self.slow, signal=self.signal), bars, names)
        return {
            f"macd_{suffix}": macd[f"MACD_{suffix}"] / close,
            f"macd_signal_{suffix}": macd[f"MACDs_{suffix}"] / close,
            f"macd_hist_{suffix}": macd[f"MACDh_{suffix}"] / close,
        }

    @property
    def warmup(self) -> int:
        return self.slow - 1 + _ema_memory(self.slow) + self.signal - 1 + _ema_memory(self.signal)


class Bollinger(Indicator):
    kind: Literal["bbands"] = "bbands"
    length: int = Field(default=20, ge=2)
    std: float = Field(default=2.0, gt=0)
    family: ClassVar[Family] = "volatility"

    def compute(self, bars: pd.DataFrame) -> Columns:
        tag = f"{self.length}_{self.std}_{self.std}"
        bands = _frame(
            ta.bbands(bars["close"], length=self.length, lower_std=self.std, upper_std=self.std),
            bars,
            [f"BBP_{tag}", f"BBB_{tag}"],
        )
        return {
            f"bb_pct_{self.length}": bands[f"BBP_{tag}"],
            f"bb_width_{self.length}": bands[f"BBB_{tag}"] / 100.0,
        }

    @property
    def warmup(self) -> int:
        return _sma_warmup(self.length)


class Atr(Indicator):
    kind: Literal["atr"] = "atr"
    length: int = Field(default=14, ge=2)
    family: ClassVar[Family] = "volatility"

    def compute(self, bars: pd.DataFrame) -> Columns:
        atr = _series(ta.atr(bars["high"], bars["low"], bars["close"], length=self.length), bars)
        return {f"atr_ratio_{self.length}": atr / bars["close"]}

    @property
    def warmup(self) -> int:
        return self.length + _wilder_memory(self.length)


class Adx(Indicator):
    kind: Literal["adx"] = "adx"
    length: int = Field(default=14, ge=2)
    family: ClassVar[Family] = "trend"

    def compute(self, bars: pd.DataFrame) -> Columns:
        n = self.length
        names = [f"ADX_{n}", f"DMP_{n}", f"DMN_{n}"]
        adx = _frame(ta.adx(bars["high"], bars["low"], bars["close"], length=n), bars, names)
        return {
            f"adx_{n}": adx[f"ADX_{n}"] / 100.0,
            f"dmp_{n}": adx[f"DMP_{n}"] / 100.0,
            f"dmn_{n}": adx[f"DMN_{n}"] / 100.0,
        }

    @property
    def warmup(self) -> int:
        # Directional movement is Wilder-smoothed, then ADX smooths DX again: two memories in series.
        return 2 * (self.length + _wilder_memory(self.length))


class ObvZscore(Indicator):
    """OBV is a running sum whose level depends on where it started; its rolling z-score does not."""

    kind: Literal["obv_zscore"] = "obv_zscore"
    length: int = Field(default=50, ge=2)
    family: ClassVar[Family] = "volume"

    def compute(self, bars: pd.DataFrame) -> Columns:
        return {
            f"obv_z_{self.length}": _zscore(_series(ta.obv(bars["close"], bars["volume"]), bars), self.length)
        }

    @property
    def warmup(self) -> int:
        return self.length


class Stochastic(Indicator):
    kind: Literal["stoch"] = "stoch"
    k: int = Field(default=14, ge=2)
    d: int = Field(default=3, ge=1)
    smooth_k: int = Field(default=3, ge=1)
    family: ClassVar[Family] = "momentum"

    def compute(self, bars: pd.DataFrame) -> Columns:
        tag = f"{self.k}_{self.d}_{self.smooth_k}"
        stoch = _frame(
            ta.stoch(bars["high"], bars["low"], bars["close"], k=self.k, d=self.d, smooth_k=self.smooth_k),
            bars,
            [f"STOCHk_{tag}", f"STOCHd_{tag}"],
        )
        return {
            f"stoch_k_{tag}": stoch[f"STOCHk_{tag}"] / 100.0,
            f"stoch_d_{tag}": stoch[f"STOCHd_{tag}"] / 100.0,
        }

    @property
    def warmup(self) -> int:
        # pandas-ta's stoch returns nothing for fewer than k + d + smooth_k rows.
        return self.k + self.smooth_k + self.d - 1


class RealizedVolatility(Indicator):
    """Rolling standard deviation of one-bar log returns (per bar, not annualized)."""

    kind: Literal["realized_vol"] = "realized_vol"
    lengths: tuple[int, ...] = Field(min_length=1)
    family: ClassVar[Family] = "volatility"

    def compute(self, bars: pd.DataFrame) -> Columns:
        returns = _series(ta.log_return(bars["close"], length=1), bars)
        return {f"rvol_{n}": returns.rolling(n, min_periods=n).std(ddof=1) for n in self.lengths}

    @property
    def warmup(self) -> int:
        return max(self.lengths)


def volatility_column(indicators: Sequence[Indicator]) -> str | None:
    """The shortest realized-volatility feature: the bar's own volatility estimate (expected moves in
    serving, position sizing in the decision rule); None when the feature set has none."""
    lengths = [n for i in indicators if isinstance(i, RealizedVolatility) for n in i.lengths]
    return f"rvol_{min(lengths)}" if lengths else None


class VolumeZscore(Indicator):
    """Z-score of volume: levels differ by orders of magnitude across instruments and years, z-scores not."""

    kind: Literal["volume_zscore"] = "volume_zscore"
    length: int = Field(default=24, ge=2)
    family: ClassVar[Family] = "volume"

    def compute(self, bars: pd.DataFrame) -> Columns:
        return {f"volume_z_{self.length}": _zscore(bars["volume"], self.length)}

    @property
    def warmup(self) -> int:
        return self.length - 1


AnyIndicator = Annotated[
    LogReturn
    | PercentReturn
    | SmaRatio
    | EmaRatio
    | Rsi
    | Macd
    | Bollinger
    | Atr
    | Adx
    | ObvZscore
    | Stochastic
    | RealizedVolatility
    | VolumeZscore,
    Field(discriminator="kind"),
]


def compute_indicators(bars: pd.DataFrame, indicators: tuple[AnyIndicator, ...]) -> pd.DataFrame:
    """All indicator columns side by side, NaN wherever a value is undefined or not yet trustworthy.

    Each indicator's warm-up rows are blanked: pandas-ta emits early values from partial windows on a
    long series but nothing on a short one, so only blanking makes a bar's value independent of how
    much history follows it. Infinities (flat windows) become NaN like any undefined value.
    """
    columns: dict[str, npt.NDArray[np.float64]] = {}
    for indicator in indicators:
        for name, values in indicator.compute(bars).items():
            if name in columns:
                raise ValueError(f"indicator column {name!r} is produced twice; remove the duplicate entry")
            column = values.to_numpy(dtype=np.float64, copy=True)
            column[: indicator.warmup] = np.nan
            columns[name] = column
    frame = pd.DataFrame(columns, index=bars.index, dtype="float64")
    return frame.replace([np.inf, -np.inf], np.nan)


def indicators_warmup(indicators: tuple[AnyIndicator, ...]) -> int:
    return max((indicator.warmup for indicator in indicators), default=0)
