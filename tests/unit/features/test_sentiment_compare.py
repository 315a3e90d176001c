from __future__ import annotations

from alphapulse.features.sentiment import get_scorer
from alphapulse.features.sentiment_compare import compare, unanimity


class Fixed:
    def __init__(self, scores: dict[str, float]) -> None:
        self._scores = scores

    def score(self, text: str) -> float:
        return self._scores[text]


def test_readings_side_by_side_with_their_agreement() -> None:
    scorers = {
        "a": Fixed({"up": 0.6, "mixed": 0.3, "calm": 0.0}),
        "b": Fixed({"up": 0.2, "mixed": -0.4, "calm": 0.01}),
        "c": Fixed({"up": 0.9, "mixed": 0.02, "calm": -0.04}),
    }
    compared = compare(["up", "mixed", "calm"], scorers, band=0.05)
    up, mixed, calm = compared
    assert [(r.scorer, r.score, r.polarity) for r in up.readings] == [
        ("a", 0.6, "positive"),
        ("b", 0.2, "positive"),
        ("c", 0.9, "positive"),
    ]
    assert (up.consensus, up.agreement) == ("positive", 1.0)
    assert mixed.consensus is None
    assert mixed.agreement == 1 / 3
    assert (calm.consensus, calm.agreement) == ("neutral", 1.0)
    assert unanimity(compared) == 2 / 3
    assert unanimity([]) is None


def test_the_compared_texts_do_not_stay_in_the_process_cache() -> None:
    """A service's clients send what they like: the comparison must not grow the features' cache."""
    vader = get_scorer("vader")
    compare(["a headline only this test sends"], {"vader": vader.scorer}, band=0.05)
    assert "a headline only this test sends" not in vader._scores
