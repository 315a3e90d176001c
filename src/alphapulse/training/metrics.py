"""Figures of one set of out-of-sample probabilities: classification quality, and the trading figures of
the strategy the decision rule (``alphapulse.decisions``) makes of them, after costs."""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import balanced_accuracy_score, roc_auc_score

from alphapulse import decisions
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


def max_drawdown(returns: FloatArray) -> float:
    """Deepest fall of the equity curve from its running peak, as a negative fraction."""
    equity = np.cumprod(1 + returns)
    peak = np.maximum.accumulate(np.maximum(equity, 1.0))
    return float(np.min(equity / peak - 1))


def trading(
    position: FloatArray, net: FloatArray, market: FloatArray, bars_per_year: float
) -> dict[str, float]:
    """What a trader reads off a strategy's bars: return, risk, and how much and how often it trades.

    ``hit_rate`` is over bars with a position: the share whose position had the market move's sign.
    """
    active = position != 0
    traded = decisions.turnover(position)
    return {
        "net_return": float(np.prod(1 + net) - 1),
        "sharpe": decisions.sharpe(net, bars_per_year),
        "max_drawdown": max_drawdown(net),
        "turnover": float(traded.sum() / len(position) * bars_per_year) if len(position) else float("nan"),
        "trades": float(np.count_nonzero(traded)),
        "exposure": float(np.mean(active)) if len(position) else float("nan"),
        "hit_rate": float(np.mean(np.sign(position[active]) == np.sign(market[active])))
        if active.any()
        else float("nan"),
    }
