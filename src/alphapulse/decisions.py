"""Decision rules: from an up-probability to a call and a position, the one implementation that evaluation,
the promotion gate, serving and live outcome tracking all apply.

A rule calls *up* when P(up) > 0.5 + θ, *down* when P(up) < 0.5 − θ and abstains (*flat*) inside the band;
``long_flat`` holds no position on a down call, ``long_short`` goes short. With a volatility target the
position is scaled by target / the bar's realized volatility, capped at ``max_leverage``. The band's width
θ is not configuration but a fitted value: it is chosen on a model's own training span (its inner
validation slice) from ``abstain_grid``, never on the window the model is judged or served on.

Costs are charged per unit of position change (a long-to-short flip trades two units), fee plus slippage,
configurable per exchange. The position decided at bar t's close earns bar t+1's return.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, field_validator

FloatArray = npt.NDArray[np.float64]
Mode = Literal["long_flat", "long_short"]
Call = Literal["up", "down", "flat"]
BASIS_POINT = 1e-4


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Costs(_Strict):
    """What one unit of position change costs, as fractions of notional."""

    fee_bps: float = Field(ge=0, description="Exchange fee per unit traded, in basis points.")
    slippage_bps: float = Field(default=0.0, ge=0, description="Expected slippage per unit traded.")

    @property
    def per_unit(self) -> float:
        return (self.fee_bps + self.slippage_bps) * BASIS_POINT


class DecisionRule(_Strict):
    mode: Mode = "long_flat"
    abstain_grid: tuple[float, ...] = Field(
        default=(0.0,), min_length=1, description="Candidate half-widths θ of the abstain band."
    )
    volatility_target: float | None = Field(
        default=None, gt=0, description="Per-bar volatility the position aims at (None: unit size)."
    )
    max_leverage: float = Field(default=1.0, gt=0)

    @field_validator("abstain_grid")
    @classmethod
    def _band_widths(cls, grid: tuple[float, ...]) -> tuple[float, ...]:
        outside = [theta for theta in grid if not 0 <= theta < 0.5]
        if outside:
            raise ValueError(f"every θ must be in [0, 0.5); got {outside}")
        return tuple(sorted(set(grid)))


class FittedRule(_Strict):
    """A rule with its band chosen: what a registered version records and serving decides with. The
    default (no band, long/flat, unit size) is how versions registered before rules existed decide."""

    mode: Mode = "long_flat"
    abstain: float = Field(default=0.0, ge=0, lt=0.5)
    volatility_target: float | None = Field(default=None, gt=0)
    max_leverage: float = Field(default=1.0, gt=0)

    @classmethod
    def of(cls, rule: DecisionRule, abstain: float) -> FittedRule:
        return cls(
            mode=rule.mode,
            abstain=abstain,
            volatility_target=rule.volatility_target,
            max_leverage=rule.max_leverage,
        )


def calls(proba: FloatArray, abstain: float | FloatArray) -> FloatArray:
    """+1 (up), −1 (down) or 0 (inside the band, or exactly 0.5) per bar."""
    band = np.asarray(abstain, dtype=np.float64)
    called: FloatArray = np.where(proba > 0.5 + band, 1.0, np.where(proba < 0.5 - band, -1.0, 0.0))
    return called


def call(probability_up: float, abstain: float) -> Call:
    """One bar's call, as serving answers it."""
    value = calls(np.array([probability_up]), abstain)[0]
    return "up" if value > 0 else "down" if value < 0 else "flat"


def sizes(rule: DecisionRule | FittedRule, volatility: FloatArray | None, n: int) -> FloatArray:
    """Position size per bar: 1, or the volatility target over the bar's volatility (capped; 0 where the
    volatility is unknown, so an undefined estimate never becomes a full position)."""
    if rule.volatility_target is None:
        return np.ones(n, dtype=np.float64)
    if volatility is None:
        raise ValueError("decision.volatility_target: the feature set has no realized-volatility feature")
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = rule.volatility_target / volatility
    size: FloatArray = np.where(
        np.isfinite(scaled) & (volatility > 0), np.minimum(scaled, rule.max_leverage), 0.0
    )
    return size


def positions(
    rule: DecisionRule | FittedRule,
    proba: FloatArray,
    abstain: float | FloatArray,
    volatility: FloatArray | None = None,
) -> FloatArray:
    called = calls(proba, abstain)
    if rule.mode == "long_flat":
        called = np.maximum(called, 0.0)
    held: FloatArray = called * sizes(rule, volatility, len(proba))
    return held


def turnover(position: FloatArray) -> FloatArray:
    """Units traded at each bar; the book starts flat."""
    traded: FloatArray = np.abs(np.diff(position, prepend=0.0))
    return traded


def net_returns(position: FloatArray, next_return: FloatArray, cost: float) -> FloatArray:
    """Simple per-bar returns after costs from log returns of the bar each position is held over."""
    net: FloatArray = position * np.expm1(next_return) - cost * turnover(position)
    return net


def sharpe(returns: FloatArray, bars_per_year: float) -> float:
    spread = np.std(returns, ddof=1) if len(returns) > 1 else 0.0
    return float(np.mean(returns) / spread * math.sqrt(bars_per_year)) if spread > 0 else float("nan")


def choose_abstain(
    rule: DecisionRule,
    proba: FloatArray,
    next_return: FloatArray,
    cost: float,
    volatility: FloatArray | None = None,
) -> float:
    """The θ of the grid with the best mean net return on these (training) bars; ties go to the narrower
    band. Mean return rather than Sharpe: a band that abstains almost always has an unstable Sharpe."""
    best, best_mean = rule.abstain_grid[0], -math.inf
    for theta in rule.abstain_grid:
        mean = float(np.mean(net_returns(positions(rule, proba, theta, volatility), next_return, cost)))
        if mean > best_mean + 1e-15:
            best, best_mean = theta, mean
    return best
