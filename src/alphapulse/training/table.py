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


def results_table(
    title: str, evaluations: Mapping[str, Evaluation], decision: GateDecision | None = None
) -> Table:
    """Out-of-sample figures of models and baselines; strategy figures are net of fees."""
    frame = summary_frame(evaluations)
    table = Table(title=title, caption="\n".join(decision.reasons) if decision else None)
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
        )
    return table
