"""A tiny BERT sentiment classifier written to disk: random weights, a small vocabulary.

FinBERT's weights cannot be downloaded here, so the tests save a model of the same architecture and
format (``config.json``, safetensors weights, a WordPiece tokenizer) and load it through the scorer's
production path, exactly as a local copy of ProsusAI/finbert would be. The labels are FinBERT's, in
its order.
"""

from __future__ import annotations

from pathlib import Path

VOCABULARY = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    "bitcoin",
    "ether",
    "price",
    "rose",
    "fell",
    "surged",
    "plunged",
    "profit",
    "loss",
    "shares",
    "net",
    "sales",
    "the",
    "a",
    "of",
    "to",
    "and",
    "on",
    "exchange",
    "hacked",
    "rally",
    "record",
    "low",
    "high",
    "market",
]
LABELS = ("positive", "negative", "neutral")


def write_tiny_bert(directory: Path, *, seed: int = 0, labels: tuple[str, ...] = LABELS) -> Path:
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    directory.mkdir(parents=True, exist_ok=True)
    vocabulary = directory / "vocab.txt"
    vocabulary.write_text("\n".join(VOCABULARY) + "\n", encoding="utf-8")
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(VOCABULARY),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: index for index, label in enumerate(labels)},
        # BERT's usual 0.02 makes every headline's probabilities nearly uniform and alike; wide random
        # weights spread the scores over [-1, 1] so that tests can tell headlines apart.
        initializer_range=1.0,
    )
    BertForSequenceClassification(config).save_pretrained(directory)
    BertTokenizerFast(vocab_file=str(vocabulary), do_lower_case=True).save_pretrained(directory)
    return directory
