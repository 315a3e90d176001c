"""FinBERT: a BERT sequence classifier fine-tuned on financial text, scored in batches on the CPU.

Any Hugging Face sequence-classification model whose labels include ``positive`` and ``negative`` fits
(ProsusAI/finbert by default, or a local directory): the compound score is P(positive) - P(negative),
which lies in [-1, 1] like VADER's and reads the same through the feature set's neutral band.

A headline must score the same alone, in any batch and in any process (the cache, and the features'
offline/online parity, rely on it), but a batch's size and padding change how float sums are ordered.
So the model runs in float64, where those differences are around 1e-16, and scores are rounded to
``SCORE_DECIMALS``: a reordering would have to straddle a rounding boundary to show.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

#: Decimal places kept of each compound score: far finer than any neutral band, far coarser than the
#: float64 noise of batching.
SCORE_DECIMALS: Final = 6
#: Tokens read per headline at most (fewer if the model has fewer positions); headlines are short and
#: FinBERT was fine-tuned on sentences.
MAX_TOKENS: Final = 128


class FinBertScorer:
    """Loads the model once (``get_scorer`` keeps one instance per process) and scores in batches."""

    def __init__(self, model: str, *, batch_size: int = 32) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer
        from transformers.utils import logging

        logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        self._torch = torch
        try:
            self._tokenizer: Any = AutoTokenizer.from_pretrained(model)
            self._model: Any = AutoModelForSequenceClassification.from_pretrained(model).double().eval()
        except OSError as error:
            raise OSError(
                f"finbert model {model!r} (ALPHAPULSE_FINBERT_MODEL) could not be loaded: give a local "
                f"directory holding a sequence-classification model and its tokenizer, or a hub id this "
                f"machine can download or has cached ({error})"
            ) from error
        labels = {str(label).lower(): int(index) for index, label in self._model.config.id2label.items()}
        missing = {"positive", "negative"} - labels.keys()
        if missing:
            raise ValueError(
                f"finbert model {model!r}: its labels {sorted(labels)} lack {sorted(missing)}; a "
                "sentiment classifier with positive and negative labels is needed"
            )
        self._max_tokens = min(MAX_TOKENS, getattr(self._model.config, "max_position_embeddings", MAX_TOKENS))
        self._positive = labels["positive"]
        self._negative = labels["negative"]
        self._batch_size = batch_size

    def score(self, text: str) -> float:
        return self.score_batch([text])[0]

    def score_batch(self, texts: Sequence[str]) -> list[float]:
        """Headlines of similar length batched together (less padding), answered in the input's order."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        scores = [0.0] * len(texts)
        for start in range(0, len(order), self._batch_size):
            chunk = order[start : start + self._batch_size]
            for index, value in zip(chunk, self._compound([texts[i] for i in chunk]), strict=True):
                scores[index] = value
        return scores

    def _compound(self, texts: list[str]) -> list[float]:
        encoded = self._tokenizer(
            texts, padding=True, truncation=True, max_length=self._max_tokens, return_tensors="pt"
        )
        with self._torch.inference_mode():
            probabilities = self._model(**encoded).logits.softmax(dim=-1)
        compound = probabilities[:, self._positive] - probabilities[:, self._negative]
        return [round(float(value), SCORE_DECIMALS) for value in compound.tolist()]
