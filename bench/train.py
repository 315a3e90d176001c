"""Training on the bundled 5-year hourly BTC/USDT data: wall time per profile, the out-of-sample table,
and the gate's verdict per label horizon and decision rule.

    .venv/bin/python -m bench.train [--profile fast|full] [--horizons 1,4,24] [--no-sweep]

Ingests the bundled data into a throwaway home (SQLite store, MLflow), then:

1. runs ``pipeline.train.train`` (exactly what ``alphapulse train`` runs: the default feature set, then
   ``train_all`` with the packaged training config at Binance's costs) and prints ``train_all``'s timing
   breakdown (goal for ``fast``: under 60 s on 2 cores) and its table of models beside baselines;
2. for each label horizon, with and without the abstain band (the band's θ grid, or θ = 0 only), builds
   the matrix with that horizon and runs ``train_all`` in a fresh MLflow (so no earlier champion is an
   opponent), and prints one line per run: the challenger's out-of-sample accuracy, net Sharpe with its
   95 % interval, net return, turnover, trades, mean θ, and the gate's verdict with the conditions failed.

The Markdown it prints is what docs/EVALUATION.md carries.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import pandas as pd

from alphapulse.features import build, load_config
from alphapulse.pipeline.ingest import ingest_bundled
from alphapulse.pipeline.instrument import Instrument
from alphapulse.pipeline.train import train
from alphapulse.settings import Settings, get_settings
from alphapulse.store import make_engine, upgrade
from alphapulse.store.queries import load_candles, load_news
from alphapulse.training.config import Profile, TrainingConfig
from alphapulse.training.config import load_config as load_training_config
from alphapulse.training.evaluation import summary_frame
from alphapulse.training.train import TrainingReport, train_all

INSTRUMENT = Instrument("binance", "BTC/USDT", "1h")
COLUMNS = {
    "accuracy": "accuracy [95% CI]",
    "roc_auc": "AUC",
    "ic": "IC",
    "abstain": "θ",
    "exposure": "exposure",
    "trades": "trades",
    "turnover": "turnover/yr",
    "net_return": "net return",
    "sharpe": "net Sharpe [95% CI]",
    "max_drawdown": "max DD",
    "versus": "vs best baseline (p)",
}


def _cells(row: pd.Series) -> dict[str, str]:
    return {
        "accuracy": f"{row['accuracy']:.4f} [{row['accuracy_low']:.4f}, {row['accuracy_high']:.4f}]",
        "roc_auc": f"{row['roc_auc']:.4f}",
        "ic": f"{row['ic']:+.4f}" if row["ic"] == row["ic"] else "n/a",
        "abstain": f"{row['abstain']:.3f}",
        "exposure": f"{row['exposure']:.0%}",
        "trades": f"{row['trades']:,.0f}",
        "turnover": f"{row['turnover']:,.0f}",
        "net_return": f"{row['net_return']:+.1%}",
        "sharpe": f"{row['sharpe']:.2f} [{row['sharpe_low']:.2f}, {row['sharpe_high']:.2f}]",
        "max_drawdown": f"{row['max_drawdown']:.1%}",
        "versus": (
            f"{row['vs_baseline_difference']:+.4f} vs {row['vs_baseline']} ({row['vs_baseline_p']:.3f})"
            if row["kind"] == "model"
            else ""
        ),
    }


def markdown(table: pd.DataFrame) -> str:
    lines = ["| predictor | " + " | ".join(COLUMNS.values()) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for name, row in table.iterrows():
        cells = _cells(row)
        label = f"**{name}**" if row["kind"] == "model" else f"{name} (baseline)"
        lines.append(f"| {label} | " + " | ".join(cells[key] for key in COLUMNS) + " |")
    return "\n".join(lines)


def _verdict(report: TrainingReport) -> str:
    if report.decision.promote:
        return "**promoted**"
    failed = [duel.opponent for duel in report.decision.duels if not duel.won]
    failed += [check.name for check in report.decision.checks if not check.passed]
    return "refused: " + ", ".join(failed) if failed else "refused: " + report.decision.reasons[0]


SWEEP_HEADER = (
    "| horizon | rule | challenger | accuracy | net Sharpe [95% CI] | buy & hold Sharpe | net return "
    "| turnover/yr | trades | θ | gate (latest window) | seconds |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def sweep_line(horizon: int, rule: str, report: TrainingReport) -> str:
    table = summary_frame(report.evaluations)
    row = table.loc[report.challenger]
    hold = table.loc["always_long"]
    return (
        f"| {horizon} | {rule} | {report.challenger} | {row['accuracy']:.4f} "
        f"| {row['sharpe']:.2f} [{row['sharpe_low']:.2f}, {row['sharpe_high']:.2f}] | {hold['sharpe']:.2f} "
        f"| {row['net_return']:+.1%} | {row['turnover']:,.0f} | {row['trades']:,.0f} | {row['abstain']:.3f} "
        f"| {_verdict(report)} | {report.seconds['total']:.0f} |"
    )


def _rule_config(config: TrainingConfig, banded: bool) -> TrainingConfig:
    if banded:
        return config
    return config.model_copy(update={"decision": config.decision.model_copy(update={"abstain_grid": (0.0,)})})


def sweep(settings: Settings, profile: Profile, horizons: list[int]) -> None:
    """Each horizon's matrix, each rule, trained in a fresh MLflow of its own."""
    engine = make_engine(settings.database_url)
    candles = load_candles(engine, INSTRUMENT.exchange, INSTRUMENT.symbol, INSTRUMENT.timeframe)
    news = load_news(engine)
    base = load_training_config(profile)
    print(SWEEP_HEADER, flush=True)
    for horizon in horizons:
        features = load_config()
        features = features.model_copy(
            update={"labels": features.labels.model_copy(update={"horizon_bars": horizon})}
        )
        matrix = build(candles, news, features)
        for rule, banded in (("no band", False), ("abstain band", True)):
            home = Path(tempfile.mkdtemp(prefix=f"alphapulse-bench-h{horizon}-"))
            report = train_all(
                matrix,
                symbol=INSTRUMENT.symbol,
                timeframe=INSTRUMENT.timeframe,
                exchange=INSTRUMENT.exchange,
                settings=Settings(home=home),
                config=_rule_config(base, banded),
            )
            print(sweep_line(horizon, rule, report), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", choices=["fast", "full"], default="fast")
    parser.add_argument("--horizons", default="1,4,24", help="label horizons (bars) of the sweep")
    parser.add_argument("--no-sweep", action="store_true", help="only time the profile")
    args = parser.parse_args()
    os.environ["ALPHAPULSE_HOME"] = tempfile.mkdtemp(prefix="alphapulse-bench-train-")
    get_settings.cache_clear()
    settings = get_settings()
    settings.ensure_dirs()
    engine = make_engine()
    upgrade(engine)
    ingest_bundled(engine)
    report = train(settings, INSTRUMENT, profile=args.profile)
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
    print(flush=True)
    if not args.no_sweep:
        sweep(settings, args.profile, [int(h) for h in args.horizons.split(",")])


if __name__ == "__main__":
    main()
