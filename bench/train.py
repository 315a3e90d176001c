"""Training wall time on the bundled 5-year hourly BTC/USDT data, and its out-of-sample table.

    .venv/bin/python -m bench.train [--profile fast|full]

Ingests the bundled data into a throwaway home (SQLite store, MLflow), then runs ``pipeline.train.train``
(what ``alphapulse train`` runs: default feature set, then ``train_all``) and reports ``train_all``'s own
timing: walk-forward of all three families, evaluation with bootstrap intervals, the gate, and MLflow
logging (final fits, models, report). Prints the timing breakdown and the
table of models beside baselines as Markdown (the one in docs/EVALUATION.md).
"""

from __future__ import annotations

import argparse
import os
import tempfile

import pandas as pd

from alphapulse.pipeline.ingest import ingest_bundled
from alphapulse.pipeline.instrument import Instrument
from alphapulse.pipeline.train import train
from alphapulse.settings import get_settings
from alphapulse.store import make_engine, upgrade
from alphapulse.training.evaluation import summary_frame

COLUMNS = {
    "accuracy": "accuracy",
    "accuracy_ci": "95% CI",
    "roc_auc": "AUC",
    "log_loss": "log-loss",
    "brier": "Brier",
    "ic": "IC",
    "long_short_cumulative_return": "L/S return",
    "long_short_sharpe": "L/S Sharpe",
    "long_short_max_drawdown": "L/S max DD",
    "long_flat_cumulative_return": "L/F return",
    "long_flat_sharpe": "L/F Sharpe",
    "versus": "vs best baseline (p)",
}


def markdown(table: pd.DataFrame) -> str:
    lines = ["| predictor | " + " | ".join(COLUMNS.values()) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for name, row in table.iterrows():
        cells = {
            "accuracy": f"{row['accuracy']:.4f}",
            "accuracy_ci": f"[{row['accuracy_low']:.4f}, {row['accuracy_high']:.4f}]",
            "roc_auc": f"{row['roc_auc']:.4f}",
            "log_loss": f"{row['log_loss']:.4f}",
            "brier": f"{row['brier']:.4f}",
            "ic": f"{row['ic']:+.4f}" if row["ic"] == row["ic"] else "n/a",
            "long_short_cumulative_return": f"{row['long_short_cumulative_return']:+.1%}",
            "long_short_sharpe": f"{row['long_short_sharpe']:.2f}",
            "long_short_max_drawdown": f"{row['long_short_max_drawdown']:.1%}",
            "long_flat_cumulative_return": f"{row['long_flat_cumulative_return']:+.1%}",
            "long_flat_sharpe": f"{row['long_flat_sharpe']:.2f}",
            "versus": (
                f"{row['vs_baseline_difference']:+.4f} vs {row['vs_baseline']} ({row['vs_baseline_p']:.3f})"
                if row["kind"] == "model"
                else ""
            ),
        }
        label = f"**{name}**" if row["kind"] == "model" else f"{name} (baseline)"
        lines.append(f"| {label} | " + " | ".join(cells[key] for key in COLUMNS) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", choices=["fast", "full"], default="fast")
    args = parser.parse_args()
    os.environ["ALPHAPULSE_HOME"] = tempfile.mkdtemp(prefix="alphapulse-bench-train-")
    get_settings.cache_clear()
    get_settings().ensure_dirs()
    engine = make_engine()
    upgrade(engine)
    ingest_bundled(engine)
    report = train(get_settings(), Instrument("binance", "BTC/USDT", "1h"), profile=args.profile)
    print(
        f"profile {args.profile}: {report.rows:,} trainable hourly bars "
        f"{report.data_start} .. {report.data_end}"
    )
    print(f"feature set {report.feature_version}")
    for step, seconds in report.seconds.items():
        print(f"  {step:<13} {seconds:7.1f} s")
    print(f"train_all total: {report.seconds['total']:.1f} s (goal for fast: < 60 s on 2 cores)")
    print(f"challenger: {report.challenger} (v{report.version}); champion: {report.champion}")
    print("gate:", "promoted" if report.decision.promote else "refused", "on window", *report.decision.window)
    for reason in report.decision.reasons:
        print("  -", reason)
    print()
    print(markdown(summary_frame(report.evaluations)))


if __name__ == "__main__":
    main()
