"""Several scorers' readings of the same headlines side by side, and how far they agree.

The service's ``/sentiment`` answers with this, so an analyst can see where a finance model and a
lexicon part ways before choosing the scorer a feature set trains with; the reading of each score is
the feature set's (``sentiment.polarity`` with its neutral band), so "agree" means the same thing as
in the features' positive and negative shares.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from alphapulse.features.sentiment import CachedScorer, HeadlineScorer, Polarity, polarity


@dataclass(frozen=True)
class Reading:
    scorer: str
    score: float
    polarity: Polarity


@dataclass(frozen=True)
class Compared:
    text: str
    readings: tuple[Reading, ...]

    @property
    def consensus(self) -> Polarity | None:
        """The polarity every scorer reads, or None when they differ."""
        polarities = {reading.polarity for reading in self.readings}
        return next(iter(polarities)) if len(polarities) == 1 else None

    @property
    def agreement(self) -> float:
        """Share of the scorers that read the most common polarity (1.0: unanimous)."""
        counts = Counter(reading.polarity for reading in self.readings)
        return max(counts.values()) / len(self.readings)


def compare(texts: Sequence[str], scorers: Mapping[str, HeadlineScorer], band: float) -> list[Compared]:
    """Every headline through every scorer, each in one batch. A cache lives for this call only: the
    texts are a client's, and a process-wide cache of them would grow with every request."""
    scores = {name: CachedScorer(scorer).score_many(texts) for name, scorer in scorers.items()}
    return [
        Compared(
            text=text,
            readings=tuple(
                Reading(name, float(values[index]), polarity(float(values[index]), band))
                for name, values in scores.items()
            ),
        )
        for index, text in enumerate(texts)
    ]


def unanimity(compared: Sequence[Compared]) -> float | None:
    """Share of the headlines on which every scorer reads the same polarity (None for no headlines)."""
    if not compared:
        return None
    return sum(item.consensus is not None for item in compared) / len(compared)
