"""The evaluation report's figures and the self-contained HTML page that carries them.

Figures are built with matplotlib's Agg canvas directly (no pyplot state), so training in a worker
thread or a headless container never touches a display.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.calibration import calibration_curve

from alphapulse.training import metrics
from alphapulse.training.dataset import Dataset
from alphapulse.training.evaluation import Predictions
from alphapulse.training.walkforward import FoldFit


def _figure(width: float = 9, height: float = 4.5) -> Figure:
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def equity_figure(dataset: Dataset, predictions: Sequence[Predictions], fee: float) -> Figure:
    """Net-of-fee equity of each model's long/short and long/flat strategy beside buy-and-hold."""
    figure = _figure(10, 5)
    axes = figure.subplots(1, 2, sharey=True)
    for ax, short in zip(axes, (True, False), strict=True):
        for item in predictions:
            net = metrics.net_returns(
                metrics.positions(item.proba, short=short), dataset.next_return[item.rows], fee
            )
            style = {"color": "black", "linewidth": 2} if item.kind == "baseline" else {"linewidth": 1}
            ax.plot(dataset.open_time[item.rows], np.cumprod(1 + net), label=item.name, **style)
        ax.set_title("long/short" if short else "long/flat")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"equity (net of {fee * 10_000:g} bps per trade)")
    axes[1].legend(loc="best", fontsize=8)
    return figure


def calibration_figure(dataset: Dataset, predictions: Sequence[Predictions]) -> Figure:
    figure = _figure(5.5, 5)
    ax = figure.subplots()
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfect")
    for item in predictions:
        observed, predicted = calibration_curve(
            dataset.y[item.rows], item.proba, n_bins=10, strategy="quantile"
        )
        ax.plot(predicted, observed, marker="o", label=item.name)
    ax.set_xlabel("predicted P(up)")
    ax.set_ylabel("observed frequency of up")
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


def html_page(title: str, table: pd.DataFrame, notes: Sequence[str], images: Mapping[str, bytes]) -> str:
    """One file with everything inlined, so the MLflow artifact opens anywhere."""
    pictures = "\n".join(
        f'<h2>{html.escape(name)}</h2><img alt="{html.escape(name)}" '
        f'src="data:image/png;base64,{base64.b64encode(data).decode()}">'
        for name, data in images.items()
    )
    items = "".join(f"<li>{html.escape(note)}</li>" for note in notes)
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}img{max-width:100%}</style></head>"
        f"<body><h1>{html.escape(title)}</h1><ul>{items}</ul>{table.to_html(float_format='%.4f')}"
        f"{pictures}</body></html>"
    )
