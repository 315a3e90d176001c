"""The promotion gate: a challenger replaces the champion only if, on the latest walk-forward window, it
beats the champion and every baseline by the configured accuracy margin with significance.

Judging a single, most recent window keeps the comparison about the regime the model will trade next; the
challenger was chosen on the earlier folds, so its score on this window is not inflated by selection.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from alphapulse.training.bootstrap import superiority
from alphapulse.training.config import TrainingConfig
from alphapulse.training.dataset import Dataset, IntArray
from alphapulse.training.evaluation import Predictions


@dataclass(frozen=True)
class Duel:
    opponent: str
    challenger_accuracy: float
    opponent_accuracy: float
    difference: float
    p_value: float
    won: bool

    def describe(self, margin: float, alpha: float) -> str:
        verdict = "beats" if self.won else "does not beat"
        return (
            f"{verdict} {self.opponent}: accuracy {self.challenger_accuracy:.4f} "
            f"vs {self.opponent_accuracy:.4f} "
            f"({self.difference:+.4f}, needs > {margin:+.4f} with p < {alpha}; p = {self.p_value:.3f})"
        )


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    reasons: tuple[str, ...]
    duels: tuple[Duel, ...]
    window: tuple[str, str]


def latest_window(predictions: Predictions) -> IntArray:
    """Dataset rows of the latest walk-forward test window."""
    rows: IntArray = predictions.rows[predictions.fold == predictions.fold.max()]
    return rows


def window_bounds(dataset: Dataset, rows: IntArray) -> tuple[str, str]:
    return dataset.open_time[rows[0]].isoformat(), dataset.open_time[rows[-1]].isoformat()


def _correct_on(dataset: Dataset, predictions: Predictions, rows: IntArray) -> npt.NDArray[np.bool_]:
    where = np.searchsorted(predictions.rows, rows)
    if np.any(where >= len(predictions.rows)) or np.any(
        predictions.rows[np.minimum(where, len(predictions.rows) - 1)] != rows
    ):
        raise ValueError(f"gate: {predictions.name} has no predictions for some rows of the judged window")
    mask = np.zeros(len(predictions.rows), dtype=bool)
    mask[where] = True
    return predictions.correct(dataset, mask)


def judge(
    dataset: Dataset, challenger: Predictions, opponents: Sequence[Predictions], config: TrainingConfig
) -> GateDecision:
    """Duel the challenger against each opponent on the challenger's latest window."""
    rows = latest_window(challenger)
    ours = _correct_on(dataset, challenger, rows)
    duels = []
    for opponent in opponents:
        theirs = _correct_on(dataset, opponent, rows)
        difference, p_value = superiority(ours, theirs, config.gate.margin, config.evaluation, config.seed)
        duels.append(
            Duel(
                opponent=opponent.name,
                challenger_accuracy=float(ours.mean()),
                opponent_accuracy=float(theirs.mean()),
                difference=difference,
                p_value=p_value,
                won=difference > config.gate.margin and p_value < config.gate.alpha,
            )
        )
    lost = [duel for duel in duels if not duel.won]
    reasons = tuple(
        f"{challenger.name} {duel.describe(config.gate.margin, config.gate.alpha)}"
        for duel in (lost or duels)
    )
    return GateDecision(not lost, reasons, tuple(duels), window_bounds(dataset, rows))


def refusal(dataset: Dataset, challenger: Predictions, reason: str) -> GateDecision:
    """A decision made without duels (e.g. nothing new to judge)."""
    return GateDecision(False, (reason,), (), window_bounds(dataset, latest_window(challenger)))
