"""Models beside baselines as one table: a DataFrame for reports and files, a rich Table for the CLI."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from rich.table import Table

from alphapulse.training.evaluation import Evaluation
from alphapulse.training.gate import GateDecision

COLUMNS = (
    "accuracy",
    "balanced_accuracy",
    "roc_auc",
    "log_loss",
    "brier",
    "ic",
    "long_short_hit_rate",
    "long_short_cumulative_return",
    "long_short_sharpe",
    "long_short_max_drawdown",
    "long_flat_cumulative_return",
    "long_flat_sharpe",
    "long_flat_max_drawdown",
)


def summary_frame(evaluations: Mapping[str, Evaluation]) -> pd.DataFrame:
    """One row per predictor (overall out-of-sample figures), with intervals and the baseline test."""
    rows = {}
    for name, evaluation in evaluations.items():
        row: dict[str, object] = {"kind": evaluation.kind}
        row.update({column: evaluation.overall[column] for column in COLUMNS})
        for metric, (low, high) in evaluation.intervals.items():
            row[f"{metric}_low"], row[f"{metric}_high"] = low, high
        versus = evaluation.versus
        row["vs_baseline"] = versus.baseline if versus else ""
        row["vs_baseline_difference"] = versus.difference if versus else np.nan
        row["vs_baseline_p"] = versus.p_value if versus else np.nan
        rows[name] = row
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "predictor"
    return frame


def _with_interval(value: float, low: float, high: float, digits: int) -> str:
    return f"{value:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def gate_column(decision: GateDecision | None, challenger: str | None) -> dict[str, str]:
    """Per predictor, its accuracy on the gate's window when the gate judged it (challenger, opponents).

    The table's accuracy is over every walk-forward window; the gate judges only the latest one, so the
    two figures differ, and this column shows which rows (and which figures) the gate's verdict used.
    """
    if decision is None or not decision.duels:
        return {}
    marks = {duel.opponent: f"{duel.opponent_accuracy:.4f}" for duel in decision.duels}
    if challenger is not None:
        marks[challenger] = f"{decision.duels[0].challenger_accuracy:.4f} (challenger)"
    return marks


def results_table(
    title: str,
    evaluations: Mapping[str, Evaluation],
    decision: GateDecision | None = None,
    *,
    challenger: str | None = None,
) -> Table:
    """Out-of-sample figures of models and baselines over every window; strategy figures are net of fees.

    The last column marks the rows the gate judged, with their accuracy on its (latest) window.
    """
    frame = summary_frame(evaluations)
    caption = None
    if decision is not None:
        start, end = decision.window
        window = f"gate: latest walk-forward window only, {start[:16]} .. {end[:16]}"
        caption = "\n".join((window, *decision.reasons))
    table = Table(title=title, caption=caption)
    judged = gate_column(decision, challenger)
    for column in (
        "predictor",
        "accuracy [95% CI]",
        "AUC",
        "log-loss",
        "Brier",
        "IC",
        "L/S Sharpe [CI]",
        "L/S return",
        "L/S max DD",
        "L/F Sharpe",
        "L/F return",
        "vs best baseline",
        "gate window acc.",
    ):
        table.add_column(column, justify="left" if column == "predictor" else "right")
    for name, row in frame.iterrows():
        versus = (
            f"{row['vs_baseline_difference']:+.4f} (p={row['vs_baseline_p']:.3f})"
            if row["kind"] == "model"
            else ""
        )
        table.add_row(
            f"[bold]{name}[/]" if row["kind"] == "model" else f"[dim]{name}[/]",
            _with_interval(row["accuracy"], row["accuracy_low"], row["accuracy_high"], 4),
            f"{row['roc_auc']:.4f}",
            f"{row['log_loss']:.4f}",
            f"{row['brier']:.4f}",
            f"{row['ic']:+.4f}" if np.isfinite(row["ic"]) else "n/a",
            _with_interval(
                row["long_short_sharpe"], row["long_short_sharpe_low"], row["long_short_sharpe_high"], 2
            ),
            f"{row['long_short_cumulative_return']:+.1%}",
            f"{row['long_short_max_drawdown']:.1%}",
            f"{row['long_flat_sharpe']:.2f}",
            f"{row['long_flat_cumulative_return']:+.1%}",
            versus,
            judged.get(str(name), ""),
        )
    return table
