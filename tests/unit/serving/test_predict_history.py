"""``/predict`` on the client's latest bars, completed from the store (``serving.history``): the answer's
features are bit-identical to ``features.build``'s row for that bar on the store's history with the
client's bars laid over it and the store's headlines plus the client's. On a real SQLite store holding
bundled candles and headlines, and through a real runtime with small bundles for the end-to-end call."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from bentoml._internal.configuration.containers import BentoMLContainer
from sqlalchemy import Engine

from alphapulse.features import FeatureConfig, build, feature_set_version, load_config
from alphapulse.money import to_text
from alphapulse.pipeline.ingest import store_candles, store_news
from alphapulse.serving import CandleIn, HeadlineIn, InputError, ServingRuntime
from alphapulse.serving import history as history_module
from alphapulse.serving.bundle import store_of
from alphapulse.serving.history import Computed, PredictHistory
from alphapulse.settings import Settings
from alphapulse.sources.bundled import CANDLES_FILE, CANDLES_SOURCE, HEADLINES_FILE, bundled_path
from alphapulse.sources.csv_candles import read_candle_csv
from alphapulse.sources.news import NewsRow, read_headline_dataset
from alphapulse.sources.rows import CandleRow
from alphapulse.store import make_engine, upgrade
from alphapulse.store.queries import candles_frame, load_news, news_frame
from tests.unit.serving.bundles import SYMBOL, TIMEFRAME, export_bundle, tiny_predictor

EXCHANGE = CANDLES_SOURCE.exchange
NOW = datetime(2030, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
#: Bars a realistic client sends (a day of hourly bars).
SENT = 24


@pytest.fixture(scope="module")
def config() -> FeatureConfig:
    return load_config()


@pytest.fixture(scope="module")
def bars() -> list[CandleRow]:
    """Bundled candles of the months the bundled headlines cover, a little more than a window."""
    _form, rows = read_candle_csv(bundled_path(CANDLES_FILE), CANDLES_SOURCE)
    end = datetime(2022, 7, 1, tzinfo=UTC)
    return [row for row in rows if row["open_time"] < end][-2400:]


@pytest.fixture(scope="module")
def headlines() -> list[NewsRow]:
    return read_headline_dataset(bundled_path(HEADLINES_FILE))


def _engine(url: str, bars: Sequence[CandleRow], headlines: Sequence[NewsRow]) -> Engine:
    engine = make_engine(url)
    upgrade(engine)
    store_candles(engine, bars, run_id="test")
    store_news(engine, headlines, source="bundled", run_id="test")
    return engine


@pytest.fixture
def engine(tmp_path: Path, bars: list[CandleRow], headlines: list[NewsRow]) -> Iterator[Engine]:
    """The store without its last bar (a client can extend it by one)."""
    engine = _engine(f"sqlite:///{tmp_path / 'store.db'}", bars[:-1], headlines)
    yield engine
    engine.dispose()


def _history(engine: Engine, refresh_seconds: float = 3600.0) -> PredictHistory:
    return PredictHistory(engine, EXCHANGE, refresh_seconds=refresh_seconds)


def _sent(rows: Sequence[CandleRow]) -> list[CandleIn]:
    return [
        CandleIn(
            open_time=row["open_time"],
            **{name: to_text(row[name]) for name in ("open", "high", "low", "close", "volume")},  # type: ignore[literal-required]
        )
        for row in rows
    ]


def _expected(rows: Sequence[CandleRow], news: pd.DataFrame, config: FeatureConfig) -> pd.DataFrame:
    """``features.build`` (training's builder) over the whole history: its row for the last bar."""
    matrix = build(candles_frame(rows), news, config)
    return matrix.frame[list(matrix.feature_columns)].iloc[[-1]]


def _assert_bits(computed: Computed, expected: pd.DataFrame) -> None:
    got = computed.features
    assert list(got.columns) == list(expected.columns)
    assert got.index.equals(expected.index)
    left = got.to_numpy(dtype=np.float64)
    right = expected.to_numpy(dtype=np.float64)
    assert np.array_equal(left, right, equal_nan=True)
    assert np.array_equal(np.isnan(left), np.isnan(right))
    finite = ~np.isnan(left)
    assert (left[finite].view(np.int64) == right[finite].view(np.int64)).all(), "the same float bits"


def _stored_news(engine: Engine) -> pd.DataFrame:
    return load_news(engine)


def _features(
    history: PredictHistory,
    config: FeatureConfig,
    candles: Sequence[CandleIn],
    headlines: Sequence[HeadlineIn] = (),
) -> Computed:
    return history.features(SYMBOL, feature_set_version(config), config, candles, headlines, NOW)


def test_the_last_bars_completed_from_the_store_are_builds_row_bit_for_bit(
    engine: Engine, bars: list[CandleRow], config: FeatureConfig
) -> None:
    stored = bars[:-1]
    history = _history(engine)
    computed = _features(history, config, _sent(stored[-SENT:]))
    _assert_bits(computed, _expected(stored, _stored_news(engine), config))
    one = _features(history, config, _sent(stored[-1:]))
    assert one is computed, "the same bar and window: the memoized row"
    behind = _features(history, config, _sent(stored[-SENT - 5 : -5]))  # a client 5 bars behind the store
    _assert_bits(behind, _expected(stored[:-5], _stored_news(engine), config))
    assert history.computations == 2


def test_a_bar_beyond_the_store_extends_it_and_a_differing_bar_replaces_the_stored_one(
    engine: Engine, bars: list[CandleRow], config: FeatureConfig
) -> None:
    history = _history(engine)
    news = _stored_news(engine)
    extended = _features(history, config, _sent(bars[-SENT:]))  # the last one is not stored
    _assert_bits(extended, _expected(bars, news, config))
    changed = [dict(row) for row in bars[-SENT - 1 : -1]]
    bar = changed[-3]
    bar["close"] = bar["low"] + (bar["high"] - bar["low"]) / Decimal(3)
    overlaid = _features(history, config, _sent(changed))  # type: ignore[arg-type]
    expected = _expected([*bars[: -SENT - 1], *changed], news, config)  # type: ignore[list-item]
    _assert_bits(overlaid, expected)
    plain = _expected(bars[:-1], news, config)
    assert not np.array_equal(overlaid.features.to_numpy(), plain.to_numpy(), equal_nan=True)


def test_the_clients_headlines_join_the_stores_and_an_identical_one_counts_once(
    engine: Engine, bars: list[CandleRow], config: FeatureConfig
) -> None:
    stored = bars[:-1]
    history = _history(engine)
    news = _stored_news(engine)
    last_close = stored[-1]["open_time"] + HOUR
    title = "Bitcoin soars to record high as investors cheer"
    sent = [HeadlineIn(published_at=last_close - timedelta(minutes=5), title=title)]
    computed = _features(history, config, _sent(stored[-SENT:]), sent)
    extra = news_frame(
        [{"published_at": sent[0].published_at, "title": title, "summary": None, "source": "x"}]
    )
    _assert_bits(computed, _expected(stored, pd.concat([news, extra], ignore_index=True), config))
    plain = _features(history, config, _sent(stored[-SENT:]))
    _assert_bits(plain, _expected(stored, news, config))
    recent = news[news["published_at"] <= last_close].iloc[-1]
    again = HeadlineIn(published_at=recent["published_at"].to_pydatetime(), title=recent["title"])
    assert _features(history, config, _sent(stored[-SENT:]), [again]) is plain


def test_a_gap_between_the_store_and_the_clients_bars_is_refused_naming_the_time_needed(
    tmp_path: Path, bars: list[CandleRow], headlines: list[NewsRow], config: FeatureConfig
) -> None:
    engine = _engine(f"sqlite:///{tmp_path / 'gap.db'}", bars[:-10], headlines)
    history = _history(engine)
    with pytest.raises(InputError) as refused:
        _features(history, config, _sent(bars[-5:]))
    assert refused.value.field == "candles"
    joined = (bars[-11]["open_time"] + HOUR).isoformat()
    assert f"candles from {joined} on (no gap)" in refused.value.reason
    assert "needs candles from" in refused.value.reason
    _assert_bits(_features(history, config, _sent(bars[-10:])), _expected(bars, load_news(engine), config))
    engine.dispose()


def test_an_instrument_the_store_lacks_needs_the_whole_window_and_is_answered_from_it(
    engine: Engine, bars: list[CandleRow], config: FeatureConfig
) -> None:
    history = PredictHistory(engine, "kraken", refresh_seconds=3600.0)
    with pytest.raises(InputError) as refused:
        _features(history, config, _sent(bars[-SENT:]))
    assert refused.value.field == "candles"
    assert "needs candles from" in refused.value.reason
    assert "holds no stored" in refused.value.reason
    whole = _features(history, config, _sent(bars[-2002:]))
    _assert_bits(whole, _expected(bars[-2002:], news_frame([]), config))


def test_the_store_gaining_a_bar_refreshes_the_held_candles(
    engine: Engine,
    bars: list[CandleRow],
    headlines: list[NewsRow],
    config: FeatureConfig,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(history_module, "RETRY_SECONDS", 0.0)
    history = _history(engine)
    first = _features(history, config, _sent(bars[-SENT - 1 : -1]))
    held = _held(history)
    assert int(held.times[-1]) == pd.Timestamp(bars[-2]["open_time"]).value
    store_candles(engine, bars[-1:], run_id="test")  # ingestion catches up
    extended = _features(history, config, _sent(bars[-SENT:]))  # beyond what is held: re-read it
    history.settle()
    refreshed = _held(history)
    assert int(refreshed.times[-1]) == pd.Timestamp(bars[-1]["open_time"]).value
    assert refreshed.revision != held.revision
    again = _features(history, config, _sent(bars[-SENT:]))  # now all stored: another window identity
    assert again is not extended
    assert first is not again
    for computed in (extended, again):
        _assert_bits(computed, _expected(bars, _stored_news(engine), config))
    aged = _history(engine, refresh_seconds=1e-9)  # re-read at every request; same content, same memo
    one = _features(aged, config, _sent(bars[-3:]))
    aged.settle()
    assert _features(aged, config, _sent(bars[-2:])) is one
    aged.settle()
    assert aged.computations == 1


def _held(history: PredictHistory) -> history_module.Snapshot:
    (snapshot,) = history._snapshots.values()
    return snapshot


def test_a_runtime_answers_the_last_bars_as_it_answers_the_whole_window(
    isolated_home: Path, bars: list[CandleRow], headlines: list[NewsRow], config: FeatureConfig
) -> None:
    settings = Settings(home=isolated_home, serving_max_age_bars=1e7)
    settings.ensure_dirs()
    _engine(settings.database_url, bars, []).dispose()
    with BentoMLContainer.model_store.patch(store_of(settings)):
        export_bundle(settings, config, tiny_predictor(config, seed=1), role="champion", version="1")
        runtime = ServingRuntime(settings)
        try:
            short = runtime.predict(SYMBOL, TIMEFRAME, _sent(bars[-SENT:]), [], client="0123456789ab")
            whole = runtime.predict(SYMBOL, TIMEFRAME, _sent(bars[-2002:]), [], client="0123456789ab")
            one = runtime.predict(SYMBOL, TIMEFRAME, _sent(bars[-1:]), [], client="0123456789ab")
        finally:
            runtime.close()
    assert short.as_of == whole.as_of == one.as_of == bars[-1]["open_time"]
    assert short.probability_up == whole.probability_up == one.probability_up
    assert short.reference_price == bars[-1]["close"]
