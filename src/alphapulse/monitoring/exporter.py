"""The pipeline's state as Prometheus metrics (``alphapulse metrics serve``), re-read every 15 seconds.

The Bento's ``/metrics`` knows what it answers; what the batch side did lives in three places the
exporter reads: the store (bars stored and quarantined per source, when bars last arrived), the live
outcomes of the served answers (the store, judged at the horizon of the champion's feature config in
MLflow's registry), MLflow (the monitor's latest drift verdict per model) and Prefect (when each
deployment last succeeded or failed, the workers online). The alert rules in
``deploy/observability/rules`` and the Grafana dashboard read these names. A source that cannot be read
says so in ``alphapulse_exporter_source_up`` and leaves its metrics out until it can be read again,
rather than failing the whole scrape (Prometheus would then mark the target down and lose the other
sources too).

Thresholds stay where they are configured: the live-accuracy floor and the minimum of resolved bars are
exported from the settings, so a rule compares with them instead of repeating them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select

from alphapulse.monitoring.outcomes import resolved_outcomes, summarize_outcomes
from alphapulse.quality import candle_dataset
from alphapulse.settings import Settings
from alphapulse.sources.modelled import pipeline_exchange
from alphapulse.store import CANDLES, QUALITY_FINDINGS
from alphapulse.timeframes import timeframe_delta

LOGGER = logging.getLogger(__name__)

#: States a finished Prefect flow run can end in that count as a failure.
FAILED_STATES = ("FAILED", "CRASHED")


@dataclass(frozen=True)
class Reading:
    """One source's metric families, or the error that kept it from being read, and how long it took."""

    families: list[Metric]
    seconds: float
    error: str | None = None


class PipelineCollector(Collector):
    """Reads every source at most once per ``ttl`` seconds: Prometheus and a person's browser may scrape
    at once, and the outcome query reads the prediction log.

    With :meth:`refresh_in_background` a thread re-reads the sources every ``ttl`` seconds and a scrape
    only answers the latest readings (none before the first one completes): a slow source (Prefect's API
    or MLflow on a busy server, or not up yet) then never makes a scrape outlast Prometheus's timeout,
    which would mark the whole target down."""

    def __init__(self, sources: dict[str, Callable[[], Iterable[Metric]]], ttl: float = 15.0) -> None:
        self._sources = sources
        self._ttl = ttl
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()
        self._background = False
        self._read_at = float("-inf")
        self._readings: dict[str, Reading] = {}

    def refresh(self) -> None:
        """Reads every source; scrapes meanwhile answer the previous readings."""
        with self._refreshing:
            readings = {name: _read(name, source) for name, source in self._sources.items()}
            with self._lock:
                self._readings, self._read_at = readings, time.monotonic()

    def refresh_in_background(self, stopped: threading.Event) -> threading.Thread:
        """Refreshes every ``ttl`` seconds until ``stopped`` is set."""
        self._background = True

        def loop() -> None:
            while not stopped.is_set():
                self.refresh()
                stopped.wait(self._ttl)

        thread = threading.Thread(target=loop, name="metrics-refresh", daemon=True)
        thread.start()
        return thread

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            stale = time.monotonic() - self._read_at >= self._ttl
        if stale and not self._background:
            self.refresh()
        with self._lock:
            readings = self._readings
        up = GaugeMetricFamily(
            "alphapulse_exporter_source_up",
            "1 when the source was read at the last scrape.",
            labels=["source"],
        )
        took = GaugeMetricFamily(
            "alphapulse_exporter_source_read_seconds",
            "How long the last reading of the source took.",
            labels=["source"],
        )
        for name, reading in readings.items():
            up.add_metric([name], 0.0 if reading.error else 1.0)
            took.add_metric([name], reading.seconds)
            yield from reading.families
        yield up
        yield took


def _read(name: str, source: Callable[[], Iterable[Metric]]) -> Reading:
    started = time.perf_counter()
    try:
        return Reading(list(source()), time.perf_counter() - started)
    except Exception as error:  # one unreadable source must not take the others down
        LOGGER.warning("metrics source %s unreadable: %s", name, error)
        return Reading([], time.perf_counter() - started, error=str(error))


def store_metrics(engine: Engine, settings: Settings) -> Iterator[Metric]:
    """Bars per source (count, newest bar), rows quarantined per source (0 when none), and for the
    sources the pipeline ingests (the configured exchange, symbols and timeframe) when a bar last arrived
    and their bar length; then the live outcomes of what the service answered per model version."""
    candles = CANDLES.c
    per_source = select(
        candles.exchange,
        candles.symbol,
        candles.timeframe,
        func.count(),
        func.max(candles.open_time),
        func.max(candles.ingested_at),
    ).group_by(candles.exchange, candles.symbol, candles.timeframe)
    findings = QUALITY_FINDINGS.c
    quarantined = (
        select(findings.dataset, func.count())
        .where(findings.quarantined.is_(True))
        .group_by(findings.dataset)
    )
    with engine.connect() as connection:
        sources = connection.execute(per_source).all()
        held = dict(connection.execute(quarantined).tuples().all())
    labels = ["exchange", "symbol", "timeframe"]
    stored = GaugeMetricFamily("alphapulse_bars_stored", "Bars stored per source.", labels=labels)
    newest = GaugeMetricFamily(
        "alphapulse_last_bar_timestamp_seconds", "Open time of the newest stored bar.", labels=labels
    )
    arrived = GaugeMetricFamily(
        "alphapulse_last_ingestion_timestamp_seconds",
        "When a bar of a source the pipeline ingests was last stored (an ingestion that stored nothing "
        "new leaves it).",
        labels=labels,
    )
    length = GaugeMetricFamily(
        "alphapulse_bar_seconds", "The bar length of a source the pipeline ingests.", labels=labels
    )
    withheld = GaugeMetricFamily(
        "alphapulse_bars_quarantined",
        "Rows withheld from the store per dataset (kept as quality findings).",
        labels=["dataset"],
    )
    exchange = pipeline_exchange(settings)
    for source, symbol, timeframe, count, last_bar, last_arrival in sources:
        key = [source, symbol, timeframe]
        stored.add_metric(key, count)
        newest.add_metric(key, last_bar.timestamp())
        dataset = candle_dataset(source, symbol, timeframe)
        withheld.add_metric([dataset], held.pop(dataset, 0))
        if source == exchange and symbol in settings.symbols and timeframe == settings.timeframe:
            arrived.add_metric(key, last_arrival.timestamp())
            length.add_metric(key, timeframe_delta(timeframe).total_seconds())
    for dataset, count in held.items():  # news feeds, sources with no bar stored
        withheld.add_metric([dataset], count)
    yield from (stored, newest, arrived, length, withheld)


def outcome_metrics(engine: Engine, settings: Settings) -> Iterator[Metric]:
    """Live accuracy per served model version on resolved bars (the monitor's own figures), with the
    floor and the minimum of resolved bars it judges the champion by."""
    from alphapulse.training.registry import CHAMPION, by_alias, model_feature_config, registered_name
    from alphapulse.training.tracking import client

    exchange = pipeline_exchange(settings)
    labels = ["model", "role", "model_version"]
    accuracy = GaugeMetricFamily(
        "alphapulse_live_accuracy", "Share of resolved, called bars whose direction was right.", labels=labels
    )
    resolved = GaugeMetricFamily(
        "alphapulse_live_resolved_bars",
        "Bars answered up or down (not flat) and resolved: what live accuracy is judged over.",
        labels=labels,
    )
    mlflow_client = client(settings)
    for symbol in settings.symbols:
        name = registered_name(symbol, settings.timeframe)
        champion = by_alias(mlflow_client, name, CHAMPION)
        horizon = model_feature_config(engine, champion, symbol, settings.timeframe).labels.horizon_bars
        outcomes = resolved_outcomes(
            engine, exchange=exchange, symbol=symbol, timeframe=settings.timeframe, horizon_bars=horizon
        )
        for summary in summarize_outcomes(outcomes):
            key = [name, summary.role, summary.model_version]
            resolved.add_metric(key, summary.called)
            if summary.called:
                accuracy.add_metric(key, summary.accuracy)
    yield accuracy
    yield resolved
    yield GaugeMetricFamily(
        "alphapulse_live_accuracy_floor",
        "Live accuracy below which the champion is degraded (ALPHAPULSE_LIVE_ACCURACY_FLOOR).",
        value=settings.live_accuracy_floor,
    )
    yield GaugeMetricFamily(
        "alphapulse_live_min_outcomes",
        "Resolved bars the champion needs before it is judged (ALPHAPULSE_LIVE_MIN_OUTCOMES).",
        value=settings.live_min_outcomes,
    )


def drift_metrics(settings: Settings) -> Iterator[Metric]:
    """The monitor's latest drift verdict per model, from its MLflow runs (``check=drift``)."""
    from alphapulse.monitoring.runlog import MONITORING_EXPERIMENT
    from alphapulse.training import tracking

    client = tracking.client(settings)
    experiment = client.get_experiment_by_name(MONITORING_EXPERIMENT)
    share = GaugeMetricFamily(
        "alphapulse_drift_share",
        "Share of compared features that drifted at the last check.",
        labels=["model"],
    )
    detected = GaugeMetricFamily(
        "alphapulse_drift_detected", "1 when the last check declared drift.", labels=["model"]
    )
    checked = GaugeMetricFamily(
        "alphapulse_drift_checked_timestamp_seconds", "When the last drift check ran.", labels=["model"]
    )
    if experiment is not None:
        runs = client.search_runs(
            [experiment.experiment_id],
            filter_string="tags.check = 'drift'",
            order_by=["attributes.start_time DESC"],
            max_results=200,
        )
        seen: set[str] = set()
        for run in runs:
            model = run.data.tags.get("registered_model")
            if model is None or model in seen or "drift_share" not in run.data.metrics:
                continue
            seen.add(model)
            share.add_metric([model], run.data.metrics["drift_share"])
            detected.add_metric([model], run.data.metrics.get("drift_detected", 0.0))
            checked.add_metric([model], run.info.start_time / 1000)
    yield from (share, detected, checked)


def prefect_metrics(settings: Settings) -> Iterator[Metric]:
    """Per deployment, when its latest run succeeded and when one last failed; the pool's workers online.
    A failure newer than the last success is a deployment whose latest finished run failed."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType, WorkerStatus
    from prefect.client.schemas.sorting import FlowRunSort

    succeeded = GaugeMetricFamily(
        "alphapulse_deployment_last_success_timestamp_seconds",
        "End of the deployment's latest completed flow run.",
        labels=["deployment"],
    )
    failed = GaugeMetricFamily(
        "alphapulse_deployment_last_failure_timestamp_seconds",
        "End of the deployment's latest failed or crashed flow run.",
        labels=["deployment"],
    )
    workers = GaugeMetricFamily(
        "alphapulse_prefect_workers_online", "Workers of the pool Prefect counts online.", labels=["pool"]
    )
    with get_client(sync_client=True) as client:
        flows = {flow.id: flow.name for flow in client.read_flows()}
        for deployment in client.read_deployments():
            name = f"{flows.get(deployment.flow_id, '?')}/{deployment.name}"
            for family, states in ((succeeded, ["COMPLETED"]), (failed, list(FAILED_STATES))):
                runs = client.read_flow_runs(
                    deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id])),
                    flow_run_filter=FlowRunFilter(
                        state=FlowRunFilterState(
                            type=FlowRunFilterStateType(any_=[StateType(state) for state in states])
                        )
                    ),
                    sort=FlowRunSort.END_TIME_DESC,
                    limit=1,
                )
                if runs and runs[0].end_time is not None:
                    family.add_metric([name], runs[0].end_time.timestamp())
        pool = client.read_workers_for_work_pool(settings.work_pool)
        workers.add_metric([settings.work_pool], sum(worker.status == WorkerStatus.ONLINE for worker in pool))
    yield from (succeeded, failed, workers)


def pipeline_collector(settings: Settings, engine: Engine) -> PipelineCollector:
    return PipelineCollector(
        {
            "store": lambda: store_metrics(engine, settings),
            "outcomes": lambda: outcome_metrics(engine, settings),
            "mlflow": lambda: drift_metrics(settings),
            "prefect": lambda: prefect_metrics(settings),
        }
    )


__all__ = [
    "PipelineCollector",
    "drift_metrics",
    "outcome_metrics",
    "pipeline_collector",
    "prefect_metrics",
    "store_metrics",
]
