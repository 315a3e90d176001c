"""``POST /sentiment`` over real HTTP: the configured scorers side by side, FinBERT included.

The session's server (tests/integration/conftest.py) compares vader, finvader and finbert; its FinBERT is
a tiny random BERT on disk that every worker loads with HF_HUB_OFFLINE=1, so the figures below are the
code path's, not a finance model's judgement.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alphapulse.features.finbert import FinBertScorer
from alphapulse.features.finvader import finvader_lexicon
from alphapulse.features.sentiment import VaderScorer, polarity
from alphapulse.serving.schemas import MAX_COMPARED_HEADLINES
from tests.integration.conftest import COMPARED_SCORERS, UNLIMITED, Server, World

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HEADLINES = [
    "Bitcoin surged to a record high as ETF inflows rose",
    "Exchange hacked, investors fear massive losses",
    "Operating profit decreased compared with the previous quarter",
    "Bitcoin price on Tuesday",
]


def test_every_scorer_reads_every_headline_as_the_library_does(
    world: World, server: Server, tiny_bert: Path
) -> None:
    with server.client(world.token) as http:
        response = http.post("/sentiment", json={"headlines": HEADLINES})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["scorers"] == list(COMPARED_SCORERS)
    band = body["neutral_band"]
    assert band == 0.05
    expected = {
        "vader": VaderScorer(),
        "finvader": VaderScorer(finvader_lexicon()),
        "finbert": FinBertScorer(str(tiny_bert)),
    }
    for text, answer in zip(HEADLINES, body["headlines"], strict=True):
        assert answer["text"] == text
        assert [reading["scorer"] for reading in answer["readings"]] == list(COMPARED_SCORERS)
        for reading in answer["readings"]:
            # Exactly the library's score: the worker's FinBERT, loaded in another process, agrees too.
            assert reading["score"] == expected[reading["scorer"]].score(text)
            assert reading["polarity"] == polarity(reading["score"], band)
        polarities = [reading["polarity"] for reading in answer["readings"]]
        assert answer["consensus"] == (polarities[0] if len(set(polarities)) == 1 else None)
        assert answer["agreement"] == max(polarities.count(p) for p in polarities) / len(polarities)
    assert body["unanimity"] == sum(a["consensus"] is not None for a in body["headlines"]) / len(HEADLINES)


def test_the_lexicons_disagree_where_finance_speaks(world: World, server: Server) -> None:
    with server.client(world.token) as http:
        body = http.post("/sentiment", json={"headlines": [HEADLINES[2]]}).json()
    readings = {r["scorer"]: r["polarity"] for r in body["headlines"][0]["readings"]}
    assert (readings["vader"], readings["finvader"]) == ("positive", "negative")
    assert body["headlines"][0]["consensus"] is None


def test_the_largest_valid_request_fits_the_body_cap(world: World, server: Server) -> None:
    """Every headline at its longest, every character sent as a JSON \\u escape: accepted, not 413."""
    headline = "é" * 1000
    body = json.dumps({"headlines": [headline] * MAX_COMPARED_HEADLINES}, ensure_ascii=True)
    with server.client(world.token) as http:
        response = http.post("/sentiment", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert len(response.json()["headlines"]) == MAX_COMPARED_HEADLINES


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"headlines": []}, "headlines"),
        ({"headlines": ["x"] * (MAX_COMPARED_HEADLINES + 1)}, "headlines"),
        ({"headlines": [""]}, "headlines[0]"),
        ({"headlines": ["ok", 3]}, "headlines[1]"),
        ({"headlines": ["ok"], "scorer": "vader"}, "scorer"),
    ],
)
def test_bad_requests_name_the_field(
    world: World, server: Server, payload: dict[str, object], field: str
) -> None:
    with server.client(world.token) as http:
        response = http.post("/sentiment", json=payload)
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field


def test_the_sentiment_scope_is_its_own(world: World, server: Server) -> None:
    token, _ = world.key("sentiment-only", ["sentiment"], {"sentiment": UNLIMITED["sentiment"]})
    with server.client(token) as http:
        assert http.post("/sentiment", json={"headlines": HEADLINES[:1]}).status_code == 200
        assert http.post("/signal", json={"symbol": "BTC/USDT", "timeframe": "1h"}).status_code == 403
