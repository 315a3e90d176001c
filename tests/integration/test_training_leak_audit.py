"""Leak audit on the bundled hourly BTC/USDT data through the real store and feature builder.

Within every walk-forward fold the training labels are shuffled; the test labels stay true. A pipeline
without leaks cannot beat chance that way, and the gate must refuse whatever comes out of it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from alphapulse import features
from alphapulse.pipeline.ingest import ingest_bundled
from alphapulse.store import make_engine, upgrade
from alphapulse.store.queries import load_candles, load_news
from alphapulse.training import load_config
from alphapulse.training.dataset import dataset_from
from alphapulse.training.evaluation import baseline_predictions, model_predictions
from alphapulse.training.gate import Judged, judge
from alphapulse.training.models import families
from alphapulse.training.walkforward import run_fold, splitter

pytestmark = pytest.mark.slow


def test_shuffled_training_labels_score_chance_and_are_refused(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(engine)
    ingest_bundled(engine)
    candles = load_candles(engine, "binance", "BTC/USDT", "1h")
    matrix = features.build(candles, load_news(engine), features.load_config())
    dataset = dataset_from(matrix)
    config = load_config("fast")
    cost = config.costs.of("binance").per_unit
    rng = np.random.default_rng(11)
    folds = list(splitter(dataset, config).split(dataset.x))
    for model in families(config):
        fits = []
        for fold, (train, test) in enumerate(folds):
            shuffled = dataset.y.copy()
            shuffled[train] = rng.permutation(dataset.y[train])
            fits.append(run_fold(model, dataset.with_labels(shuffled), fold, train, test, config))
        predictions = model_predictions(model.name, fits, dataset, config.decision, cost)
        accuracy = np.mean((predictions.proba > 0.5) == (dataset.y[predictions.rows] == 1))
        assert abs(accuracy - 0.5) < 0.03, f"{model.name} scores {accuracy:.4f} on shuffled labels"
        baselines = baseline_predictions(dataset, predictions, config.seed)
        decision = judge(dataset, predictions, None, Judged(config, cost, 8766.0, baselines, [predictions]))
        assert not decision.promote, f"{model.name} promoted on shuffled labels: {decision.reasons}"
