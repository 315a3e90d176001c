"""Headline sentiment: a pluggable scorer interface, the VADER default, and a per-headline score cache.

A scorer maps a headline to a compound score in [-1, 1] and must be pure (same text, same score): that
is what makes caching by text correct, and the cache is what keeps scoring thousands of headlines out
of every rebuild. Scorers are registered by name so the feature config (and its version hash) names
the scorer instead of importing it, and heavier finance models can sit beside VADER without the
default install needing them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer


class HeadlineScorer(Protocol):
    def score(self, text: str) -> float:
        """Compound sentiment of one headline in [-1, 1]; must depend on the text only."""
        ...


class VaderScorer:
    """VADER's compound score: a general-purpose lexicon with rules for negation and emphasis."""

    def __init__(self) -> None:
        self._analyzer = SentimentIntensityAnalyzer()

    def score(self, text: str) -> float:
        return float(self._analyzer.polarity_scores(text)["compound"])


class CachedScorer:
    """Scores each distinct headline once per process; repeated builds and windows reuse the scores."""

    def __init__(self, scorer: HeadlineScorer) -> None:
        self._scorer = scorer
        self._scores: dict[str, float] = {}

    def score(self, text: str) -> float:
        if text not in self._scores:
            self._scores[text] = self._scorer.score(text)
        return self._scores[text]

    def score_many(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        codes, uniques = pd.factorize(pd.Series(texts, dtype=object))
        unique_scores = np.array([self.score(text) for text in uniques], dtype=np.float64)
        return unique_scores[codes] if len(codes) else np.empty(0, dtype=np.float64)


def _finance_lexicon() -> HeadlineScorer:
    from alphapulse.features.finance_lexicon import FinanceLexiconScorer

    return FinanceLexiconScorer()


_FACTORIES: dict[str, Callable[[], HeadlineScorer]] = {
    "vader": VaderScorer,
    "finance_lexicon": _finance_lexicon,
}


def register_scorer(name: str, factory: Callable[[], HeadlineScorer]) -> None:
    """Make a scorer selectable by name in the feature config (e.g. an optional FinBERT)."""
    _FACTORIES[name] = factory
    get_scorer.cache_clear()


def scorer_names() -> tuple[str, ...]:
    return tuple(sorted(_FACTORIES))


@cache
def get_scorer(name: str) -> CachedScorer:
    """The process-wide cached instance of a registered scorer (models load once, scores are kept)."""
    if name not in _FACTORIES:
        raise ValueError(f"unknown sentiment scorer {name!r}; registered: {', '.join(scorer_names())}")
    return CachedScorer(_FACTORIES[name]())
