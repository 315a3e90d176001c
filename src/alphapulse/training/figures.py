"""Figures of a training run: the trader's report's (equity and drawdown, decisions on the price, confusion
matrices, ROC and calibration) and each family's (feature importance, learning curves).

Figures are built with matplotlib's Agg canvas directly (no pyplot state), so training in a worker
thread or a headless container never touches a display.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from sklearn.calibration import calibration_curve
from sklearn.metrics import roc_auc_score, roc_curve

from alphapulse.training.dataset import FloatArray
from alphapulse.training.evaluation import Track
from alphapulse.training.walkforward import FoldFit

LONG_COLOUR = "tab:green"
SHORT_COLOUR = "tab:red"


def _figure(width: float = 9, height: float = 4.5) -> Figure:
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def equity_curve(returns: FloatArray) -> FloatArray:
    curve: FloatArray = np.cumprod(1 + returns, dtype=np.float64)
    return curve


def drawdown_curve(returns: FloatArray) -> FloatArray:
    """Fall from the running peak, the starting capital counting as a peak (as ``metrics.max_drawdown``)."""
    equity = equity_curve(returns)
    drawdown: FloatArray = equity / np.maximum.accumulate(np.maximum(equity, 1.0)) - 1
    return drawdown


Times = np.ndarray[Any, np.dtype[np.datetime64]]


def _dates(times: pd.DatetimeIndex) -> Times:
    """UTC times as plain datetime64, which matplotlib converts in one vectorised step; it converts a
    timezone-aware index through Python objects, seconds per figure at hourly resolution."""
    utc: Times = times.asi8.astype("datetime64[ns]")
    return utc


def _equity_lines(top: Axes, bottom: Axes, when: Times, returns: FloatArray, **style: Any) -> None:
    top.plot(when, equity_curve(returns), **style)
    bottom.plot(when, drawdown_curve(returns) * 100, **style)


def equity_figure(models: Sequence[Track], market: Track) -> Figure:
    """Each model's equity net of costs beside buy-and-hold (``market``'s market return) on the same bars;
    the drawdown panel shows the losses an equity curve makes look small."""
    figure = _figure(10, 6.5)
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=(2, 1))
    for item in models:
        _equity_lines(top, bottom, _dates(item.open_time), item.net_return, label=item.name, linewidth=1)
    _equity_lines(
        top,
        bottom,
        _dates(market.open_time),
        market.market_return,
        label="buy-and-hold",
        color="black",
        linewidth=1.6,
    )
    top.set_ylabel("equity, net of costs (start = 1)")
    top.legend(loc="best", fontsize=8)
    bottom.set_ylabel("drawdown (%)")
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
    return figure


#: Short and long, in the order of the position's sign; flat bars are NaN, which a colormap leaves unshaded.
_DECISION_COLOURS = ListedColormap([SHORT_COLOUR, LONG_COLOUR])


def _decision_band(ax: Axes, when: Times, position: FloatArray) -> None:
    """The position's sign as a band behind the price: one mesh of a cell per bar, which draws thousands
    of hourly decisions as fast as a single line (shading each span separately takes seconds). A position
    decided at a bar's close is held until the next bar's."""
    edges = np.append(when, when[-1] + (when[-1] - when[-2] if len(when) > 1 else np.timedelta64(1, "h")))
    ax.pcolormesh(
        edges,
        [0, 1],
        np.where(position == 0, np.nan, np.sign(position))[np.newaxis, :],
        cmap=_DECISION_COLOURS,
        vmin=-1,
        vmax=1,
        alpha=0.25,
        transform=ax.get_xaxis_transform(),
    )


def decisions_figure(models: Sequence[Track]) -> Figure:
    """The close over the judged window, one panel per model, shaded where the model was long or short
    (unshaded: flat)."""
    figure = _figure(10, 1.2 + 2.3 * len(models))
    axes = figure.subplots(len(models), 1, sharex=True, squeeze=False)[:, 0]
    for ax, item in zip(axes, models, strict=True):
        when = _dates(item.open_time)
        _decision_band(ax, when, item.position)
        ax.plot(when, item.close, color="black", linewidth=0.7)
        ax.relim()  # the price's limits alone: relim leaves the band (a collection) out
        ax.autoscale_view()
        long, short = np.mean(item.position > 0), np.mean(item.position < 0)
        ax.set_title(
            f"{item.name}: long {long:.0%}, short {short:.0%}, flat {1 - long - short:.0%} of bars",
            fontsize=9,
        )
        ax.set_ylabel("close")
        ax.grid(alpha=0.3)
    axes[0].legend(
        handles=[
            Patch(color=LONG_COLOUR, alpha=0.25, label="long"),
            Patch(color=SHORT_COLOUR, alpha=0.25, label="short"),
        ],
        loc="upper left",
        fontsize=8,
    )
    return figure


def confusion(item: Track) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Counts of [went down, went up] × [called down, called up], a call up being P(up) > 0.5."""
    went_up, called_up = item.y == 1, item.proba > 0.5
    return np.array(
        [
            [np.sum(~went_up & ~called_up), np.sum(~went_up & called_up)],
            [np.sum(went_up & ~called_up), np.sum(went_up & called_up)],
        ],
        dtype=np.int64,
    )


def confusion_figure(models: Sequence[Track]) -> Figure:
    figure = _figure(3.2 * len(models) + 0.5, 3.4)
    axes = figure.subplots(1, len(models), squeeze=False)[0]
    for ax, item in zip(axes, models, strict=True):
        counts = confusion(item)
        shares = counts / max(counts.sum(), 1)
        ax.imshow(shares, cmap="Blues", vmin=0, vmax=max(float(shares.max()), 1e-12))
        for (row, column), count in np.ndenumerate(counts):
            colour = "white" if shares[row, column] > 0.6 * shares.max() else "black"
            ax.text(
                column, row, f"{count:,}\n{shares[row, column]:.1%}", ha="center", va="center", color=colour
            )
        ax.set_xticks([0, 1], ["called down", "called up"])
        ax.set_yticks([0, 1], ["went down", "went up"])
        ax.set_title(item.name, fontsize=9)
    return figure


def _roc(ax: Axes, models: Sequence[Track]) -> None:
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="chance")
    for item in models:
        false_positive, true_positive, _ = roc_curve(item.y, item.proba)
        ax.plot(
            false_positive, true_positive, label=f"{item.name} (AUC {roc_auc_score(item.y, item.proba):.3f})"
        )
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title("ROC")


def _calibration(ax: Axes, models: Sequence[Track]) -> None:
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfect")
    for item in models:
        observed, predicted = calibration_curve(item.y, item.proba, n_bins=10, strategy="quantile")
        ax.plot(predicted, observed, marker="o", markersize=3, label=item.name)
    ax.set_xlabel("predicted P(up), deciles")
    ax.set_ylabel("observed share of up")
    ax.set_title("calibration")


def classifier_figure(models: Sequence[Track]) -> Figure:
    """ROC and calibration side by side: ranking skill, and whether P(up) means what it says (the
    abstain band and any sizing read it as a probability)."""
    figure = _figure(10, 4.5)
    roc_axes, calibration_axes = figure.subplots(1, 2)
    _roc(roc_axes, models)
    _calibration(calibration_axes, models)
    for ax in (roc_axes, calibration_axes):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return figure


def importance_figure(name: str, columns: Sequence[str], folds: Sequence[FoldFit], top: int = 20) -> Figure:
    """Mean importance over folds, normalised per fold so families on different scales compare."""
    table = np.vstack([fold.fitted.importance / max(fold.fitted.importance.sum(), 1e-12) for fold in folds])
    mean = pd.Series(table.mean(axis=0), index=list(columns)).sort_values().tail(top)
    figure = _figure(6, max(3.0, 0.25 * len(mean)))
    ax = figure.subplots()
    ax.barh(mean.index, mean.to_numpy())
    ax.set_title(f"{name}: feature importance (share, mean over folds)")
    return figure


def learning_curve_figure(name: str, folds: Sequence[FoldFit]) -> Figure:
    figure = _figure()
    ax = figure.subplots()
    for fold in folds:
        curve = fold.fitted.learning_curve
        if curve is None:
            continue
        (line,) = ax.plot(curve.index, curve["validation"], label=f"fold {fold.fold} validation")
        ax.plot(curve.index, curve["train"], color=line.get_color(), linestyle=":", alpha=0.7)
    ax.set_xlabel("boosting round")
    ax.set_ylabel("log-loss (dotted: train)")
    ax.set_title(f"{name}: learning curves on each fold's inner validation slice")
    ax.legend(fontsize=8)
    return figure


def png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()
