"""Evidently's classification metrics on resolved bars: how the served direction fared, for humans."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from alphapulse.monitoring.evidently_loader import load_evidently

#: Column names of the frame handed to Evidently.
TARGET, PREDICTION, PROBABILITY = "went_up", "predicted_up", "probability_up"


def classification_report(bars: pd.DataFrame, *, out_dir: Path, name: str) -> Path | None:
    """ClassificationPreset (accuracy, precision, recall, F1, ROC AUC, log loss, rates) on the resolved
    rows of ``bars`` (``resolved_outcomes`` output), saved as HTML and JSON; None while the resolved
    bars do not yet hold both outcomes (Evidently's metrics need an up and a down bar)."""
    resolved = bars.dropna(subset=["realized_return"])
    target = (resolved["realized_return"] > 0).astype(int)
    if target.nunique() < 2:
        return None
    load_evidently()
    from evidently import BinaryClassification, DataDefinition, Dataset, Report  # heavy import
    from evidently.presets import ClassificationPreset

    frame = pd.DataFrame(
        {
            TARGET: target.to_numpy(),
            PREDICTION: (resolved["probability_up"].astype(float) > 0.5).astype(int).to_numpy(),
            PROBABILITY: resolved["probability_up"].astype(float).to_numpy(),
        }
    )
    definition = DataDefinition(
        classification=[
            BinaryClassification(
                target=TARGET, prediction_labels=PREDICTION, prediction_probas=PROBABILITY, pos_label=1
            )
        ],
        categorical_columns=[TARGET, PREDICTION],
        numerical_columns=[PROBABILITY],
    )
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        # scikit-learn warns about ill-defined rates when the model only ever said one direction.
        warnings.simplefilter("ignore")
        dataset = Dataset.from_pandas(frame, data_definition=definition)
        snapshot = Report([ClassificationPreset()]).run(dataset)
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path = out_dir / f"{name}.html"
    snapshot.save_html(str(html_path))
    snapshot.save_json(str(out_dir / f"{name}.json"))
    return html_path
