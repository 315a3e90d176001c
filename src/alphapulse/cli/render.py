"""Every table the command line prints, built from the use cases' typed results.

One module so that a result is drawn the same way wherever it appears (``features build`` and ``run``
show the same feature-set table) and the library never imports ``rich``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
from rich.console import RenderableType
from rich.table import Table

from alphapulse.settings import Settings

if TYPE_CHECKING:
    from alphapulse.access import KeyInfo
    from alphapulse.monitoring.drift import MissingColumn
    from alphapulse.pipeline.features import FeatureSetReport
    from alphapulse.pipeline.ingest import IngestReport
    from alphapulse.pipeline.monitor import MonitorResult
    from alphapulse.pipeline.status import StoreSummary
    from alphapulse.store.tables import QualityFinding
    from alphapulse.training.evaluation import Evaluation
    from alphapulse.training.gate import GateDecision
    from alphapulse.training.registry import VersionInfo
    from alphapulse.training.train import TrainingReport
    from flows.pipeline import PipelineResult

_INGEST_COLUMNS = (
    "received",
    "inserted",
    "updated",
    "unchanged",
    "quarantined",
    "conflicts",
    "corrected",
    "warnings",
)


def _folding_table(title: str, columns: Sequence[str]) -> Table:
    """Long cells (paths, versions, reasons) wrap inside their column instead of widening the table."""
    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def settings_table(settings: Settings, title: str = "AlphaPulse state") -> Table:
    table = Table(title=title, show_header=False)
    for name, value in settings.describe():
        table.add_row(name, value)
    return table


def ingest_table(reports: Sequence[IngestReport]) -> Table:
    table = Table(title="Ingestion")
    table.add_column("dataset")
    for column in _INGEST_COLUMNS:
        table.add_column(column, justify="right")
    for r in reports:
        table.add_row(r.dataset, *(f"{getattr(r, column):,}" for column in _INGEST_COLUMNS))
    return table


def quality_tables(findings: Sequence[QualityFinding], *, details: bool) -> list[Table]:
    """Counts per dataset, check and severity; with ``details`` every finding as well."""
    summary = Table(title=f"Data quality: {len(findings):,} finding(s)")
    for column in ("dataset", "check", "severity", "count", "quarantined"):
        summary.add_column(column, justify="right" if column in ("count", "quarantined") else "left")
    counts = Counter((f.dataset, f.check_name, f.severity) for f in findings)
    held = Counter((f.dataset, f.check_name, f.severity) for f in findings if f.quarantined)
    for (name, check, severity), count in sorted(counts.items()):
        summary.add_row(name, check, severity, f"{count:,}", f"{held[(name, check, severity)]:,}")
    if not details:
        return [summary]
    listing = _folding_table("Findings", ("dataset", "check", "row", "detail"))
    for f in findings:
        listing.add_row(f.dataset, f.check_name, f.row_key, f.detail)
    return [summary, listing]


def feature_sets_table(reports: Sequence[FeatureSetReport]) -> Table:
    columns = ("symbol", "version", "rows", "columns", "warm-up bars", "NaN rows", "trainable rows", "path")
    table = _folding_table("Feature sets", columns)
    for report in reports:
        table.add_row(
            report.symbol,
            report.version,
            f"{report.rows:,}",
            str(report.columns),
            str(report.warmup_bars),
            f"{report.nan_rows:,}",
            f"{report.trainable_rows:,}",
            str(report.path),
        )
    return table


def monitoring_table(results: Sequence[MonitorResult]) -> Table:
    columns = ("symbol", "drift share", "threshold", "drift", "drifted", "missing data", "retrain", "report")
    table = _folding_table("Monitoring", columns)
    for result in results:
        report = result.drift
        table.add_row(
            result.instrument.symbol,
            f"{report.drift_share:.2f}",
            f"{report.threshold:.2f}",
            "[red]DETECTED[/]" if report.detected else "none",
            f"{len(report.drifted_columns)} of {report.compared} compared features",
            f"{len(report.missing)} features",
            result.retrain.state,
            str(report.html_path),
        )
    return table


def monitoring_notes(result: MonitorResult) -> list[str]:
    """The lines printed above the monitoring table for one symbol: what the figures were judged against."""
    name, report = result.instrument.symbol, result.drift
    lines = [f"{name}: reference: {report.reference_source}", f"{name}: drift: {report.reason}"]
    if report.missing:
        lines.append(f"{name}: missing data (not drift): {missing_text(report.missing)}")
    lines.append(f"{name}: {result.retrain.message}")
    lines.extend(
        f"{name} model {outcome.model_version} ({outcome.role}): {outcome.resolved}/{outcome.bars} "
        f"bars resolved ({outcome.requests:,} requests, {outcome.abstained} abstained), "
        f"live accuracy {outcome.accuracy:.3f}"
        for outcome in result.outcomes.summaries
    )
    return lines


def missing_text(missing: Sequence[MissingColumn]) -> str:
    """Missing-data columns grouped by the window lacking them, e.g. "12 in current: news_count, ..."."""
    sides: dict[str, list[str]] = {}
    for item in missing:
        sides.setdefault(item.missing_in, []).append(item.column)
    return "; ".join(f"{len(cols)} in {side}: {', '.join(cols)}" for side, cols in sides.items()) or "none"


def _with_interval(value: float, low: float, high: float, digits: int) -> str:
    return f"{value:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def gate_column(decision: GateDecision | None, challenger: str | None) -> dict[str, str]:
    """Per predictor, its primary metric on the gate's window when the gate judged it (challenger,
    opponents).

    The table's figures are over every walk-forward window; the gate judges only the latest one, so the
    two differ, and this column shows which rows (and which figures) the gate's verdict used.
    """
    from alphapulse.training.gate import score_text

    if decision is None or not decision.duels:
        return {}
    marks = {duel.opponent: score_text(duel.metric, duel.opponent_score) for duel in decision.duels}
    if challenger is not None:
        first = decision.duels[0]
        marks[challenger] = f"{score_text(first.metric, first.challenger_score)} (challenger)"
    return marks


def results_table(
    title: str,
    evaluations: Mapping[str, Evaluation],
    decision: GateDecision | None = None,
    *,
    challenger: str | None = None,
) -> Table:
    """Out-of-sample figures of models and baselines over every window; strategy figures are those of
    the configured decision rule, net of costs.

    The last column marks the rows the gate judged, with their primary metric on its (latest) window.
    """
    from alphapulse.training.evaluation import summary_frame

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
        "θ",
        "exposure",
        "trades",
        "net return",
        "net Sharpe [CI]",
        "max DD",
        "vs best baseline",
        "gate window",
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
            f"{row['abstain']:.3f}",
            f"{row['exposure']:.0%}",
            f"{row['trades']:,.0f}",
            f"{row['net_return']:+.1%}",
            _with_interval(row["sharpe"], row["sharpe_low"], row["sharpe_high"], 2),
            f"{row['max_drawdown']:.1%}",
            versus,
            judged.get(str(name), ""),
        )
    return table


def versions_table(name: str, infos: list[VersionInfo]) -> Table:
    from alphapulse.training.registry import CHAMPION

    table = Table(title=f"{name}: registered versions")
    for column in ("version", "aliases", "family", "latest-window acc.", "data window", "features", "gate"):
        table.add_column(column)
    for info in infos:
        aliases = ", ".join(info.aliases)
        table.add_row(
            info.version,
            f"[bold green]{aliases}[/]" if CHAMPION in info.aliases else aliases,
            info.family,
            f"{info.accuracy:.4f}",
            f"{info.data_start[:16]} .. {info.data_end[:16]}",
            info.feature_version[:12],
            info.gate if info.gate == "promoted" else f"{info.gate}: {info.reason.split(' | ')[0]}",
        )
    return table


def keys_table(infos: Sequence[KeyInfo], *, title: str = "API keys") -> Table:
    """Never a secret nor a hash: neither is in ``KeyInfo``."""
    columns = ("key id", "name", "scopes", "limits", "created", "revoked", "replaced by")
    table = _folding_table(title, columns)
    for info in infos:
        table.add_row(
            info.key_id,
            info.name,
            ", ".join(info.scopes),
            "\n".join(f"{scope}: {notation}" for scope, notation in info.limits.items()) or "defaults",
            f"{info.created_at:%Y-%m-%d %H:%M}",
            f"{info.revoked_at:%Y-%m-%d %H:%M}" if info.revoked_at else "",
            info.replaced_by or "",
        )
    return table


def training_report(report: TrainingReport, *, cached: bool = False) -> list[RenderableType]:
    """One training: the results table, then the gate's verdict on its window and its reasons."""
    lines: list[RenderableType] = []
    if cached:
        lines.append(
            f"[yellow]{report.registered_model}: no new data since the last training; "
            f"its result is reused (nothing retrained, nothing promoted now)[/]"
        )
    lines.append(
        results_table(
            f"{report.registered_model}: out-of-sample walk-forward ({report.profile}), "
            f"{report.rows:,} bars {report.data_start[:10]} .. {report.data_end[:10]}, net of fees",
            report.evaluations,
            report.decision,
            challenger=report.challenger,
        )
    )
    verdict = "[bold green]PROMOTED[/]" if report.decision.promote else "[yellow]not promoted[/]"
    start, end = report.decision.window
    lines.append(
        f"gate, on the latest walk-forward window only ({start[:16]} .. {end[:16]}): challenger "
        f"{report.challenger} (version {report.version}) {verdict}; "
        f"champion is {'version ' + report.champion if report.champion else 'none'}"
    )
    lines.extend(f"  - {reason}" for reason in report.decision.reasons)
    return lines


def run_table(settings: Settings, result: PipelineResult, store: StoreSummary) -> Table:
    """The closing summary of ``alphapulse run``: what the store holds, what monitoring found, where to
    look next."""
    summary = Table(title="AlphaPulse run", show_header=False)
    summary.add_row("database", store.database)
    summary.add_row("candles / headlines stored", f"{store.candles:,} / {store.headlines:,}")
    summary.add_row("quality findings", f"{store.quality_findings:,} (alphapulse quality report)")
    for checked in result.monitoring.results:
        drift = checked.drift
        state = "DETECTED" if drift.detected else "none"
        summary.add_row(
            f"drift {checked.instrument.symbol}",
            f"{drift.drift_share:.2f} ({state}; {drift.compared} features compared, "
            f"{len(drift.missing)} missing data): {drift.html_path}",
        )
    for checked in result.monitoring.results:
        summary.add_row(f"retrain {checked.instrument.symbol}", checked.retrain.message)
    summary.add_row(
        "MLflow",
        f"{settings.mlflow_tracking_uri} (mlflow ui --backend-store-uri {settings.mlflow_tracking_uri})",
    )
    summary.add_row("models", "alphapulse model list")
    summary.add_row("home", str(settings.home.resolve()))
    exported = [tag for tag in result.export.exported if tag]
    summary.add_row(
        "serving",
        f"exported {', '.join(exported)}; serve with: alphapulse serve"
        if exported
        else "no champion yet (the gate refused), so nothing to serve; see the reasons above",
    )
    for symbol, note in store.freshness.items():
        summary.add_row(f"freshness {symbol}", note)
    return summary
