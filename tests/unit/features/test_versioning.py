from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from sqlalchemy import select

from alphapulse.features import (
    FeatureConfig,
    build,
    current_config,
    feature_set_version,
    load_config,
    materialize,
)
from alphapulse.pipeline.features import build_feature_set
from alphapulse.store import FEATURE_SETS, make_engine, upgrade
from alphapulse.training.dataset import dataset_from


def test_version_is_stable_across_spellings_and_moves_with_every_setting(tmp_path: Path) -> None:
    default = load_config()
    respelled = tmp_path / "respelled.yaml"
    data = default.model_dump(mode="json")
    respelled.write_text(yaml.safe_dump(dict(reversed(list(data.items()))), default_flow_style=False))
    assert feature_set_version(load_config(respelled)) == feature_set_version(default)
    assert len(feature_set_version(default)) == 16
    changes = [
        {"timeframe": "4h"},
        {"anchor_block_bars": 800},
        {"indicators": default.indicators[:-1]},
        {"sentiment": default.sentiment.model_copy(update={"half_lives": ("2h",)})},
        {"sentiment": default.sentiment.model_copy(update={"scorer": "finance_lexicon"})},
        {"labels": default.labels.model_copy(update={"horizon_bars": 3})},
        {"labels": default.labels.model_copy(update={"threshold": 0.002})},
    ]
    versions = {feature_set_version(default.model_copy(update=change)) for change in changes}
    assert len(versions) == len(changes)
    assert feature_set_version(default) not in versions


def _engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(engine)
    return engine


def test_rebuild_is_byte_identical_and_recorded(
    tmp_path: Path, candles: pd.DataFrame, news: pd.DataFrame, config: FeatureConfig
) -> None:
    engine = _engine(tmp_path)
    first = materialize(build(candles, news, config), engine, "BTC/USDT", "1h", tmp_path / "a")
    shuffled = news.sample(frac=1.0, random_state=3)
    second = materialize(build(candles.copy(), shuffled, config), engine, "BTC/USDT", "1h", tmp_path / "b")
    assert first.version == second.version
    assert Path(first.path) == tmp_path / "a" / "features" / "BTC-USDT" / "1h" / f"{first.version}.parquet"
    assert Path(first.path).read_bytes() == Path(second.path).read_bytes()
    back = pd.read_parquet(first.path)
    pd.testing.assert_frame_equal(back, build(candles, news, config).frame, check_freq=False)
    with engine.connect() as connection:
        rows = connection.execute(select(FEATURE_SETS)).mappings().all()
    assert len(rows) == 1
    assert rows[0]["version"] == first.version
    assert rows[0]["rows"] == len(candles)
    assert rows[0]["first_bar"] == candles["open_time"].iloc[0].to_pydatetime()
    assert FeatureConfig.model_validate_json(rows[0]["config_json"]) == config


def test_materialize_refuses_a_timeframe_the_matrix_was_not_built_for(
    tmp_path: Path, candles: pd.DataFrame, news: pd.DataFrame, config: FeatureConfig
) -> None:
    with pytest.raises(ValueError, match="4h"):
        materialize(build(candles.iloc[:50], news, config), _engine(tmp_path), "BTC/USDT", "4h", tmp_path)


def test_build_feature_set_reports_what_the_cli_prints(
    tmp_path: Path, candles: pd.DataFrame, news: pd.DataFrame, config: FeatureConfig
) -> None:
    report = build_feature_set(
        candles, news, config, symbol="BTC/USDT", engine=_engine(tmp_path), data_dir=tmp_path
    )
    assert report.rows == len(candles)
    assert report.version == feature_set_version(config)
    assert 0 < report.nan_rows <= report.warmup_bars
    assert report.trainable_rows == len(candles) - report.warmup_bars - config.labels.horizon_bars
    assert report.path.exists()
    matrix = build(candles, news, config)
    assert report.trainable_rows == len(dataset_from(matrix)), "one definition of trainable rows"


def test_the_current_config_is_the_newest_materialized_one(
    tmp_path: Path, candles: pd.DataFrame, news: pd.DataFrame, config: FeatureConfig
) -> None:
    engine = _engine(tmp_path)
    assert current_config(engine, "BTC/USDT", "1h") == load_config(timeframe="1h"), "none built: shipped"
    other = config.model_copy(update={"anchor_block_bars": 800})
    materialize(build(candles, news, config), engine, "BTC/USDT", "1h", tmp_path)
    materialize(build(candles, news, other), engine, "BTC/USDT", "1h", tmp_path)
    assert current_config(engine, "BTC/USDT", "1h") == other
    assert current_config(engine, "ETH/USDT", "1h") == load_config(timeframe="1h"), "per instrument"
    materialize(build(candles, news, config), engine, "BTC/USDT", "1h", tmp_path)
    assert current_config(engine, "BTC/USDT", "1h") == config, "a rebuild makes it current again"
