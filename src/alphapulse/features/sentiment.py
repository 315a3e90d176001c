"""Headline sentiment: a pluggable scorer interface, the registered scorers, and a per-headline score cache.

A scorer maps a headline to a compound score in [-1, 1] and must be pure (same text, same score): that
is what makes caching by text correct, and the cache is what keeps scoring thousands of headlines out
of every rebuild. Scorers are registered by name so the feature config (and its version hash) names
the scorer instead of importing it, and heavier finance models sit beside VADER without the default
install needing them: each names the optional extra that brings its dependencies.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
import pandas as pd
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

Polarity = Literal["negative", "neutral", "positive"]


class HeadlineScorer(Protocol):
    def score(self, text: str) -> float:
        """Compound sentiment of one headline in [-1, 1]; must depend on the text only."""
        ...


@runtime_checkable
class BatchScorer(Protocol):
    """A scorer that is much cheaper per headline in batches (a neural model's forward pass)."""

    def score(self, text: str) -> float: ...

    def score_batch(self, texts: Sequence[str]) -> list[float]: ...


class MissingExtraError(ImportError):
    """A scorer's optional dependencies are not installed; the message names the extra to install."""


class VaderScorer:
    """VADER's compound score: a general-purpose lexicon with rules for negation and emphasis.

    ``added`` words join its lexicon (overriding VADER's valence of a word it knows): how a domain
    lexicon reuses VADER's rules.
    """

    def __init__(self, added: Mapping[str, float] | None = None) -> None:
        self._analyzer = SentimentIntensityAnalyzer()
        self._analyzer.lexicon.update(added or {})

    def score(self, text: str) -> float:
        return float(self._analyzer.polarity_scores(text)["compound"])


class CachedScorer:
    """Scores each distinct headline once per process; repeated builds and windows reuse the scores."""

    def __init__(self, scorer: HeadlineScorer) -> None:
        self._scorer = scorer
        self._scores: dict[str, float] = {}

    @property
    def scorer(self) -> HeadlineScorer:
        """The scorer behind the cache, for texts that must not stay in it (a service's clients')."""
        return self._scorer

    def score(self, text: str) -> float:
        if text not in self._scores:
            self._scores[text] = self._scorer.score(text)
        return self._scores[text]

    def score_many(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        codes, uniques = pd.factorize(pd.Series(texts, dtype=object))
        if isinstance(self._scorer, BatchScorer):
            missing = [text for text in uniques if text not in self._scores]
            if missing:
                self._scores.update(zip(missing, self._scorer.score_batch(missing), strict=True))
        unique_scores = np.array([self.score(text) for text in uniques], dtype=np.float64)
        return unique_scores[codes] if len(codes) else np.empty(0, dtype=np.float64)


def polarity(score: float, band: float) -> Polarity:
    """The feature set's reading of a compound score: inside the neutral band is neutral."""
    if score >= band:
        return "positive"
    if score <= -band:
        return "negative"
    return "neutral"


@dataclass(frozen=True)
class Registered:
    factory: Callable[[], HeadlineScorer]
    #: The optional extra of ``alphapulse`` that installs what the scorer imports (None: always there).
    extra: str | None = None
    #: What else decides its scores beyond the code (a model's weights): part of the feature-set version.
    identity: Callable[[], str] | None = None


def needs_extra(scorer: str, extra: str, error: ImportError) -> MissingExtraError:
    """The error a scorer raises when its optional dependencies are missing, naming the extra."""
    return MissingExtraError(
        f"sentiment scorer {scorer!r} needs the optional extra {extra!r} "
        f"(pip install 'alphapulse[{extra}]'): {error}"
    )


def _finance_lexicon() -> HeadlineScorer:
    from alphapulse.features.finance_lexicon import FinanceLexiconScorer

    return FinanceLexiconScorer()


def _finvader() -> HeadlineScorer:
    from alphapulse.features.finvader import finvader_lexicon

    return VaderScorer(finvader_lexicon())


def _finbert() -> HeadlineScorer:
    from alphapulse.features.finbert import FinBertScorer
    from alphapulse.settings import get_settings

    settings = get_settings()
    return FinBertScorer(settings.finbert_model, batch_size=settings.finbert_batch_size)


def _finbert_identity() -> str:
    from alphapulse.settings import get_settings

    return get_settings().finbert_model


_REGISTRY: dict[str, Registered] = {
    "vader": Registered(VaderScorer),
    "finance_lexicon": Registered(_finance_lexicon, extra="finance"),
    "finvader": Registered(_finvader),
    "finbert": Registered(_finbert, extra="finbert", identity=_finbert_identity),
}


def register_scorer(
    name: str, factory: Callable[[], HeadlineScorer], *, identity: Callable[[], str] | None = None
) -> None:
    """Make a scorer selectable by name in the feature config and the service's comparison."""
    _REGISTRY[name] = Registered(factory, identity=identity)
    get_scorer.cache_clear()


def scorer_names() -> tuple[str, ...]:
    return tuple(sorted(_REGISTRY))


def scorer_extra(name: str) -> str | None:
    """The optional extra a registered scorer needs installed (the Bento includes it when configured)."""
    return _registered(name).extra


def scorer_identity(name: str) -> str | None:
    """The model a scorer loads, for the feature-set version (None for the lexicon scorers)."""
    identity = _registered(name).identity
    return None if identity is None else identity()


def _registered(name: str) -> Registered:
    if name not in _REGISTRY:
        raise ValueError(f"unknown sentiment scorer {name!r}; registered: {', '.join(scorer_names())}")
    return _REGISTRY[name]


def scorer_factory(name: str) -> Callable[[], HeadlineScorer]:
    """A registered scorer's constructor, uncached; it raises ``MissingExtraError`` naming the extra when
    the scorer's dependencies are not installed."""
    registered = _registered(name)

    def build() -> HeadlineScorer:
        try:
            return registered.factory()
        except MissingExtraError:
            raise
        except ImportError as error:
            if registered.extra is None:
                raise
            raise needs_extra(name, registered.extra, error) from error

    return build


@cache
def get_scorer(name: str) -> CachedScorer:
    """The process-wide cached instance of a registered scorer (models load once, scores are kept)."""
    return CachedScorer(scorer_factory(name)())
