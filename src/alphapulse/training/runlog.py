"""What one training writes to MLflow: a parent run (data, baselines, report, gate) and a nested run per
model family (params, per-fold and overall metrics, learning curves, importance, the model itself)."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.data.pandas_dataset import from_pandas
from mlflow.models import infer_signature

from alphapulse.training import figures, report
from alphapulse.training.dataset import Dataset
from alphapulse.training.evaluation import Evaluation, Predictions, Track
from alphapulse.training.gate import GateDecision
from alphapulse.training.models import ModelFamily, get_family
from alphapulse.training.predictor import Predictor
from alphapulse.training.walkforward import FoldFit


def _pins(family: ModelFamily[Any]) -> list[str]:
    return [f"{name}=={metadata.version(name)}" for name in family.requirements]


def _finite(values: Mapping[str, float]) -> dict[str, float]:
    """MLflow stores NaN poorly across backends; an undefined figure (AUC of a constant) is left out."""
    return {key: float(value) for key, value in values.items() if np.isfinite(value)}


def log_evaluation(evaluation: Evaluation, prefix: str = "") -> None:
    mlflow.log_metrics(_finite({f"{prefix}{k}": v for k, v in evaluation.overall.items()}))
    for metric, (low, high) in evaluation.intervals.items():
        mlflow.log_metrics(_finite({f"{prefix}{metric}_ci_low": low, f"{prefix}{metric}_ci_high": high}))
    if evaluation.versus is not None:
        mlflow.log_metrics(
            {
                f"{prefix}vs_{evaluation.versus.baseline}_difference": evaluation.versus.difference,
                f"{prefix}vs_{evaluation.versus.baseline}_p_value": evaluation.versus.p_value,
            }
        )


def log_folds(evaluation: Evaluation, folds: Sequence[FoldFit]) -> None:
    """Per-fold metrics as steps of one series each (MLflow draws them as a curve over folds)."""
    for fold in folds:
        values = evaluation.per_fold.loc[fold.fold].to_dict()
        values.update(train_rows=fold.train_rows, best_iteration=fold.fitted.best_iteration or np.nan)
        mlflow.log_metrics(_finite({f"fold_{k}": v for k, v in values.items()}), step=fold.fold)


def log_model(predictor: Predictor, example: pd.DataFrame) -> str:
    """Log the native model with its signature and an input example; returns the model URI to register.

    The example and signature are the float matrix the model was fitted on and is always given (see
    ``Predictor.predict_proba``), not a DataFrame: MLflow predicts the example to check it, and a frame
    would reach the estimator with feature names it was not fitted with. The column order is in the
    version's ``feature_columns`` tag.
    """
    frame = example.loc[:, list(predictor.feature_columns)]
    inputs = np.ascontiguousarray(frame.to_numpy(dtype=np.float64))
    signature = infer_signature(inputs, predictor.predict_proba(frame))
    family = get_family(predictor.family)
    info = family.mlflow_flavor().log_model(
        predictor.model,
        name="model",
        signature=signature,
        input_example=inputs,
        pip_requirements=_pins(family),
        **family.log_options,
    )
    return str(info.model_uri)


def log_family(
    predictions: Predictions,
    evaluation: Evaluation,
    folds: Sequence[FoldFit],
    params: Mapping[str, Any],
    dataset: Dataset,
) -> None:
    mlflow.log_params({"family": predictions.name, **params})
    log_folds(evaluation, folds)
    log_evaluation(evaluation)
    if any(fold.fitted.learning_curve is not None for fold in folds):
        mlflow.log_figure(figures.learning_curve_figure(predictions.name, folds), "learning_curves.png")
    mlflow.log_figure(
        figures.importance_figure(predictions.name, dataset.feature_columns, folds), "feature_importance.png"
    )
    importance = pd.DataFrame(
        [fold.fitted.importance for fold in folds], columns=list(dataset.feature_columns)
    )
    mlflow.log_text(importance.to_csv(index_label="fold"), "feature_importance.csv")


def log_dataset(dataset: Dataset, name: str) -> None:
    frame = dataset.features.assign(label_up=dataset.y, label_return=dataset.label_return)
    mlflow.log_input(from_pandas(frame, name=name, targets="label_up"), context="training")


def log_report(
    title: str, tracks: Sequence[Track], summary: pd.DataFrame, decision: GateDecision, bars_per_year: float
) -> None:
    """The trader's report in the active run: the HTML page, its figures as PNGs (drawn once for both),
    the summary as CSV and as a Markdown digest linking back to the run, and the gate's decision."""
    pictures = report.images(tracks)
    with tempfile.TemporaryDirectory() as folder:
        for name, data in pictures.items():
            (Path(folder) / f"{name}.png").write_bytes(data)
        mlflow.log_artifacts(folder)
    lines = report.gate_lines(decision)
    page = report.html(title, tracks, summary, lines, bars_per_year, pictures)
    mlflow.log_text(page, "evaluation_report.html")
    mlflow.log_text(summary.to_csv(), "evaluation_summary.csv")
    run = mlflow.active_run()
    url = report.run_url(mlflow.get_tracking_uri(), run.info.run_id) if run is not None else None
    mlflow.log_text(report.markdown(summary, lines, url), "evaluation_summary.md")
    mlflow.log_dict(asdict(decision), "gate_decision.json")
