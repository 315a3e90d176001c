"""The whole pipeline in order: what `alphapulse run` runs, and the `pipeline` deployment."""

from __future__ import annotations

from dataclasses import dataclass

from prefect import flow

from alphapulse.pipeline.export import ExportRun
from alphapulse.pipeline.features import FeatureSetReport
from alphapulse.pipeline.ingest import IngestReport
from alphapulse.pipeline.monitor import MonitorRun
from alphapulse.training.config import Profile
from flows.export import export_champion
from flows.features import build_features
from flows.ingest import ingest_candles, ingest_news
from flows.monitor import monitor
from flows.training import Trained, train_and_promote


@dataclass(frozen=True)
class PipelineResult:
    candles: list[IngestReport]
    news: list[IngestReport]
    features: list[FeatureSetReport]
    training: list[Trained]
    export: ExportRun
    monitoring: MonitorRun


@flow(name="pipeline", log_prints=True)
def pipeline(profile: Profile = "fast", build_bento: bool = False) -> PipelineResult:
    """Ingest (validated, quarantined) -> features -> train + gate -> export champion -> drift and outcomes.

    ``build_bento`` also packages a Bento after the export (slow; the export-champion deployment does it).
    """
    candles = ingest_candles()
    news = ingest_news()
    features = build_features()
    training = train_and_promote(profile=profile)
    exported = export_champion(build=build_bento)
    monitoring = monitor()
    return PipelineResult(
        candles=candles,
        news=news,
        features=features,
        training=training,
        export=exported,
        monitoring=monitoring,
    )
