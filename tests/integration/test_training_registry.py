"""train_all end to end on a planted signal: MLflow runs, registry aliases, gate, rollback, serving load."""

from __future__ import annotations

import numpy as np
import pytest
from rich.console import Console

from alphapulse.cli.render import results_table
from alphapulse.settings import get_settings
from alphapulse.training import (
    list_versions,
    load_champion,
    promote,
    rollback,
    train_all,
)
from alphapulse.training.config import TrainingConfig
from alphapulse.training.tracking import client
from tests.unit.training.synthetic import small_config, synthetic_matrix

pytestmark = pytest.mark.slow


@pytest.fixture
def config() -> TrainingConfig:
    """Cheap trading: the planted signal earns about 6 bp per bar traded, less than the default 11 bp
    cost, and this test is about the registry, not the economics (tests/unit/training/test_gate.py)."""
    return small_config(bootstrap_iterations=200, cost_bps=1.0)


def test_train_gate_registry_and_serving(config: TrainingConfig) -> None:
    matrix = synthetic_matrix(3000, signal=0.4, seed=5)
    first = train_all(matrix, symbol="BTC/USDT", timeframe="1h", config=config)
    assert first.registered_model == "alphapulse-btc-usdt-1h"
    assert first.decision.promote, first.decision.reasons
    assert first.champion == first.version == "1"
    console = Console(width=240, record=True)
    console.print(results_table("oos", first.evaluations, first.decision))
    rendered = console.export_text()
    for name in ("always_long", "persistence", "random", "linear", "xgboost", "catboost", "beats"):
        assert name in rendered

    # serving gets the same probabilities, bit for bit, as the model training logged
    served = load_champion("BTC/USDT", "1h")
    assert served.feature_version == matrix.version
    features = matrix.frame.iloc[5:][list(matrix.feature_columns)]
    expected = first.predictors[first.challenger].predict_proba(features)
    assert np.array_equal(served.predict_proba(features), expected)

    runs = client(get_settings()).search_runs(
        [client().get_experiment_by_name(first.registered_model).experiment_id]
    )
    assert {run.info.run_name for run in runs} == {"train-fast", "linear", "xgboost", "catboost"}
    parent = next(run for run in runs if run.info.run_name == "train-fast")
    assert parent.data.tags["feature_set_version"] == matrix.version
    assert "baseline.always_long.accuracy" in parent.data.metrics

    # no new data: nothing promoted, and the reason says so
    second = train_all(matrix, symbol="BTC/USDT", timeframe="1h", config=config)
    assert not second.decision.promote
    assert "nothing new" in second.decision.reasons[0]
    assert second.champion == "1"
    assert len(list_versions("BTC/USDT", "1h")) == 1

    # a new window (more data) is judged again; a manual promote and a one-step rollback
    longer = synthetic_matrix(3500, signal=0.4, seed=5)
    third = train_all(longer, symbol="BTC/USDT", timeframe="1h", config=config)
    assert third.version == "2"
    promote("BTC/USDT", "1h", version="2")
    assert load_champion("BTC/USDT", "1h").predict_proba(features) is not None
    change = rollback("BTC/USDT", "1h")
    assert (change.previous, change.current) == ("2", "1")
    champion = next(v for v in list_versions("BTC/USDT", "1h") if "champion" in v.aliases)
    assert champion.version == "1"
    with pytest.raises(LookupError, match="no earlier champion"):
        rollback("BTC/USDT", "1h")
