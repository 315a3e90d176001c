"""One feature config per run: what ``features build --config`` records is what training builds its
matrix with, what the registered version carries, what the export bundles for serving, and what the
monitor compares; real store, real MLflow registry, real BentoML store."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest
import yaml

from alphapulse.features import FeatureConfig, feature_set_version, load_config
from alphapulse.monitoring.runlog import MONITORING_EXPERIMENT
from alphapulse.pipeline.export import export_model
from alphapulse.pipeline.features import build_features
from alphapulse.pipeline.instrument import Instrument
from alphapulse.pipeline.monitor import check_drift
from alphapulse.pipeline.store import open_store
from alphapulse.pipeline.train import train
from alphapulse.serving.bundle import CONFIG_FILE, store_of
from alphapulse.settings import get_settings
from alphapulse.store import CANDLES, upsert
from alphapulse.training.registry import CHALLENGER, CHAMPION, by_alias
from alphapulse.training.tracking import client
from tests.support.market import candle_rows, recent_bundled_candles

pytestmark = pytest.mark.slow

SYMBOL = "BTC/USDT"
#: Enough bars for the fast profile's four walk-forward windows after the warm-up.
BARS = 11_500


def test_the_config_a_build_records_is_the_one_training_serving_and_monitoring_use(tmp_path: Path) -> None:
    settings = get_settings()
    instrument = Instrument.of(settings, SYMBOL)
    upsert(open_store(settings), CANDLES, candle_rows(recent_bundled_candles(BARS)))
    shipped = load_config(timeframe=settings.timeframe)
    custom = shipped.model_copy(update={"anchor_block_bars": 800})
    path = tmp_path / "features.yaml"
    path.write_text(yaml.safe_dump(custom.model_dump(mode="json")), encoding="utf-8")

    built = build_features(settings, instrument, config_path=path)
    assert built.version == feature_set_version(custom) != feature_set_version(shipped)
    assert build_features(settings, instrument).version == built.version, "a scheduled build keeps it"

    report = train(settings, instrument)
    assert report.feature_version == built.version
    role = CHAMPION if report.decision.promote else CHALLENGER
    info = by_alias(client(settings), report.registered_model, role)
    assert info is not None
    assert info.version == report.version
    assert FeatureConfig.model_validate_json(info.feature_config) == custom

    tag = export_model(settings, instrument, role=role)
    bundled = store_of(settings).get(tag).path_of(CONFIG_FILE)
    assert FeatureConfig.model_validate_json(Path(bundled).read_text(encoding="utf-8")) == custom

    check_drift(settings, instrument)
    (drift,) = mlflow.search_runs(
        experiment_names=[MONITORING_EXPERIMENT], filter_string="tags.check = 'drift'", output_format="list"
    )
    assert drift.data.tags["feature_version"] == built.version
