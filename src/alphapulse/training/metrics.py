"""Figures of one set of out-of-sample probabilities: classification quality and strategy P&L after fees.

Strategy convention: the position decided at the close of bar t (long if p > 0.5, short or flat if
p < 0.5, flat at exactly 0.5) earns bar t+1's return; every change of position pays ``fee`` per unit
traded, so a long-to-short flip pays twice.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import balanced_accuracy_score, roc_auc_score

from alphapulse.training.dataset import FloatArray

_EPS = 1e-15


def classification(y: FloatArray, proba: FloatArray) -> dict[str, float]:
    called_up = proba > 0.5
    clipped = np.clip(proba, _EPS, 1 - _EPS)
    both_classes = 0 < y.sum() < len(y)
    return {
        "accuracy": float(np.mean(called_up == (y == 1))),
        "balanced_accuracy": float(balanced_accuracy_score(y, called_up)) if both_classes else np.nan,
        "roc_auc": float(roc_auc_score(y, proba)) if both_classes else np.nan,
        "log_loss": float(-np.mean(y * np.log(clipped) + (1 - y) * np.log(1 - clipped))),
        "brier": float(np.mean((proba - y) ** 2)),
    }


def information_coefficient(proba: FloatArray, label_return: FloatArray) -> float:
    """Spearman rank correlation of score and forward return (NaN for a constant score)."""
    if np.ptp(proba) == 0:
        return float("nan")
    return float(spearmanr(proba, label_return).statistic)


def positions(proba: FloatArray, *, short: bool) -> FloatArray:
    down = -1.0 if short else 0.0
    held: FloatArray = np.where(proba > 0.5, 1.0, np.where(proba < 0.5, down, 0.0))
    return held


def net_returns(position: FloatArray, next_return: FloatArray, fee: float) -> FloatArray:
    """Simple per-bar returns after fees; the book starts flat."""
    turnover = np.abs(np.diff(position, prepend=0.0))
    net: FloatArray = position * np.expm1(next_return) - fee * turnover
    return net


def sharpe(returns: FloatArray, bars_per_year: float) -> float:
    spread = np.std(returns, ddof=1) if len(returns) > 1 else 0.0
    return float(np.mean(returns) / spread * np.sqrt(bars_per_year)) if spread > 0 else float("nan")


def max_drawdown(returns: FloatArray) -> float:
    """Deepest fall of the equity curve from its running peak, as a negative fraction."""
    equity = np.cumprod(1 + returns)
    peak = np.maximum.accumulate(np.maximum(equity, 1.0))
    return float(np.min(equity / peak - 1))


def strategy(
    proba: FloatArray, next_return: FloatArray, fee: float, bars_per_year: float, *, short: bool
) -> dict[str, float]:
    position = positions(proba, short=short)
    returns = net_returns(position, next_return, fee)
    active = position != 0
    hits = position[active] * next_return[active] > 0
    return {
        "hit_rate": float(np.mean(hits)) if active.any() else float("nan"),
        "cumulative_return": float(np.prod(1 + returns) - 1),
        "sharpe": sharpe(returns, bars_per_year),
        "max_drawdown": max_drawdown(returns),
    }


def figures(
    y: FloatArray,
    proba: FloatArray,
    label_return: FloatArray,
    next_return: FloatArray,
    fee: float,
    bars_per_year: float,
) -> dict[str, float]:
    """Every figure the report shows for one predictor over one span of rows."""
    result = classification(y, proba)
    result["ic"] = information_coefficient(proba, label_return)
    for prefix, short in (("long_flat", False), ("long_short", True)):
        for name, value in strategy(proba, next_return, fee, bars_per_year, short=short).items():
            result[f"{prefix}_{name}"] = value
    return result
