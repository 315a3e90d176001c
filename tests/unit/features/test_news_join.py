"""The as-of join: which headlines a bar sees, and how they are aggregated."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from alphapulse.features import FeatureConfig, build, register_scorer

SCORES = {"good news": 0.8, "bad news": -0.6, "meh": 0.0}


class TableScorer:
    def score(self, text: str) -> float:
        return SCORES[text]


@pytest.fixture
def table_config(config: FeatureConfig) -> FeatureConfig:
    register_scorer("table", TableScorer)
    sentiment = config.sentiment.model_copy(update={"scorer": "table", "half_lives": ("1h", "6h")})
    return config.model_copy(update={"sentiment": sentiment})


def _news(*items: tuple[pd.Timestamp, str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "published_at": pd.DatetimeIndex([t for t, _ in items], tz="UTC").as_unit("ns"),
            "title": [title for _, title in items],
            "summary": [None] * len(items),
            "source": ["test"] * len(items),
        }
    )


def _close(candles: pd.DataFrame, row: int) -> pd.Timestamp:
    return candles["open_time"].iloc[row] + timedelta(hours=1)


def test_headline_one_second_after_close_never_affects_that_bar(
    candles: pd.DataFrame, table_config: FeatureConfig
) -> None:
    bar = 600
    close = _close(candles, bar)
    frame = build(candles, _news((close + timedelta(seconds=1), "good news")), table_config).frame
    news_columns = [c for c in frame.columns if c.startswith("news_")]
    assert (frame.iloc[: bar + 1][news_columns] == 0).all().all()
    assert frame["news_count"].iloc[bar + 1] == 1
    assert frame["news_decay_1h"].iloc[bar + 1] == pytest.approx(0.8)


def test_headline_at_the_close_counts_for_that_bar(
    candles: pd.DataFrame, table_config: FeatureConfig
) -> None:
    bar = 600
    frame = build(candles, _news((_close(candles, bar), "bad news")), table_config).frame
    assert frame["news_count"].iloc[bar] == 1
    assert frame["news_count"].iloc[bar + 1] == 0
    assert frame["news_compound_min"].iloc[bar] == pytest.approx(-0.6)
    assert frame["news_neg_share"].iloc[bar] == 1.0


def test_per_bar_aggregates(candles: pd.DataFrame, table_config: FeatureConfig) -> None:
    open_time = candles["open_time"].iloc[700]
    news = _news(
        (open_time + timedelta(minutes=5), "good news"),
        (open_time + timedelta(minutes=10), "bad news"),
        (open_time + timedelta(minutes=50), "meh"),
    )
    row = build(candles, news, table_config).frame.iloc[700]
    assert row["news_count"] == 3
    assert row["news_compound_mean"] == pytest.approx((0.8 - 0.6 + 0.0) / 3)
    assert row["news_compound_max"] == pytest.approx(0.8)
    assert row["news_compound_min"] == pytest.approx(-0.6)
    assert row["news_pos_share"] == pytest.approx(1 / 3)
    assert row["news_neg_share"] == pytest.approx(1 / 3)


def test_decay_halves_per_half_life_and_forgets_past_the_horizon(
    candles: pd.DataFrame, table_config: FeatureConfig
) -> None:
    bar = 800
    published = _close(candles, bar)
    frame = build(candles, _news((published, "good news")), table_config).frame
    intensity = frame["news_intensity_1h"].to_numpy()
    assert intensity[bar] == pytest.approx(1.0)
    assert intensity[bar + 1] == pytest.approx(0.5)
    assert intensity[bar + 6] == pytest.approx(2.0**-6)
    assert frame["news_intensity_6h"].iloc[bar + 6] == pytest.approx(0.5)
    assert frame["news_decay_6h"].iloc[bar + 6] == pytest.approx(0.8)
    horizon = table_config.sentiment.horizon_half_lives
    assert intensity[bar + horizon - 1] == pytest.approx(2.0 ** -(horizon - 1))
    assert intensity[bar + horizon] == 0
    assert frame["news_decay_1h"].iloc[bar + horizon] == 0


def test_without_news_sentiment_is_zero_not_nan(candles: pd.DataFrame, config: FeatureConfig) -> None:
    matrix = build(candles, _news(), config)
    news_columns = [c for c in matrix.feature_columns if c.startswith("news_")]
    assert news_columns
    assert (matrix.frame[news_columns] == 0).all().all()


def test_news_row_order_does_not_change_a_single_bit(
    candles: pd.DataFrame, news: pd.DataFrame, config: FeatureConfig
) -> None:
    ordered = build(candles, news, config).frame
    shuffled = build(candles, news.sample(frac=1.0, random_state=7), config).frame
    pd.testing.assert_frame_equal(ordered, shuffled, check_exact=True)
    assert np.count_nonzero(ordered["news_count"]) > 100
