"""Training flow: every family per symbol, evaluated walk-forward, logged to MLflow, gated.

Training is cached on a fingerprint of the stored data (plus profile and code), so re-running the pipeline
with no new data reuses the last result instead of refitting; the result says when that happened.
Each symbol's training is published as a Markdown artifact: its digest and a link to its MLflow run.
"""

from __future__ import annotations

from dataclasses import dataclass

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact

from alphapulse.pipeline.artifacts import training_artifact
from alphapulse.pipeline.instrument import Instrument
from alphapulse.pipeline.train import train
from alphapulse.settings import get_settings
from alphapulse.training.config import Profile
from alphapulse.training.train import TrainingReport
from flows.common import DERIVED_CACHE, DERIVED_CACHE_EXPIRATION
from flows.features import fingerprint_task


@dataclass(frozen=True)
class Trained:
    report: TrainingReport
    #: True when the data had not changed and the previous training's result was reused.
    cached: bool


@task(
    task_run_name="train {symbol} {timeframe} ({profile})",
    timeout_seconds=7200,
    cache_policy=DERIVED_CACHE,
    cache_expiration=DERIVED_CACHE_EXPIRATION,
    persist_result=True,
)
def train_symbol(exchange: str, symbol: str, timeframe: str, profile: Profile, data: str) -> TrainingReport:
    """``data`` (the stored data's fingerprint) only keys the cache."""
    return train(get_settings(), Instrument(exchange, symbol, timeframe), profile=profile)


@flow(name="train-and-promote", log_prints=True)
def train_and_promote(
    profile: Profile = "fast",
    symbols: list[str] | None = None,
    exchange: str | None = None,
    timeframe: str | None = None,
) -> list[Trained]:
    settings = get_settings()
    market = Instrument.of(settings, exchange=exchange, timeframe=timeframe)
    exchange, timeframe = market.exchange, market.timeframe
    trained = []
    for symbol in symbols or settings.symbols:
        mark = fingerprint_task(exchange, symbol, timeframe)
        state = train_symbol(exchange, symbol, timeframe, profile, mark, return_state=True)
        trained.append(Trained(report=state.result(), cached=state.name == "Cached"))
        artifact = training_artifact(trained[-1].report, settings)
        create_markdown_artifact(artifact.markdown, key=artifact.key, description=artifact.description)
    return trained
