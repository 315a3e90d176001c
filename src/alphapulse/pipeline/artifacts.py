"""What the training flow publishes in Prefect: per trained model, a Markdown artifact with the training's
digest and a link to its MLflow run, so the flow run's page says what was trained, how it traded and
whether the gate promoted it without opening MLflow. Built here so the flow only publishes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from alphapulse.settings import Settings
from alphapulse.training import report
from alphapulse.training.evaluation import summary_frame
from alphapulse.training.train import TrainingReport


@dataclass(frozen=True)
class MarkdownArtifact:
    key: str
    markdown: str
    description: str


def artifact_key(registered_model: str) -> str:
    """Prefect accepts lowercase letters, digits and dashes only; one key per model keeps every training
    of it as that artifact's history."""
    slug = re.sub(r"[^a-z0-9]+", "-", registered_model.lower()).strip("-")
    return f"{slug}-training"


def _heading(trained: TrainingReport) -> list[str]:
    champion = f"v{trained.champion}" if trained.champion else "none"
    return [
        f"## {trained.registered_model}: training ({trained.profile})",
        "",
        f"Data {trained.data_start} – {trained.data_end} ({trained.rows:,} rows), features "
        f"`{trained.feature_version[:12]}`. Challenger **{trained.challenger}**, version {trained.version}; "
        f"champion now: {champion}.",
    ]


def training_artifact(trained: TrainingReport, settings: Settings) -> MarkdownArtifact:
    """The digest links to the run's page when MLflow is served over HTTP (the tracking server serves its
    UI); with a database or file store there is no page, and the run id says where to look."""
    url = report.run_url(settings.mlflow_tracking_uri, trained.run_id)
    lines = report.gate_lines(trained.decision)
    digest = report.markdown(summary_frame(trained.evaluations), lines, url)
    where = "" if url else f"\nMLflow run `{trained.run_id}`\n"
    return MarkdownArtifact(
        key=artifact_key(trained.registered_model),
        markdown="\n".join([*_heading(trained), "", digest]) + where,
        description=f"{trained.registered_model}: {lines[0]}",
    )
