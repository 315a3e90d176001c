"""The results table says which rows the gate judged and on which window, beside the all-window figures."""

from __future__ import annotations

from rich.console import Console

from alphapulse.cli.render import gate_column, results_table
from alphapulse.training.gate import Duel, GateDecision

DECISION = GateDecision(
    promote=False,
    reasons=("xgboost does not beat always_long on accuracy: 0.5012 vs 0.5123",),
    duels=(
        Duel("always_long", "accuracy", 0.5012, 0.5123, -0.0111, 0.91, won=False),
        Duel("champion v3", "accuracy", 0.5012, 0.4990, 0.0022, 0.40, won=False),
    ),
    window=("2025-06-01T00:00:00+00:00", "2025-10-01T00:00:00+00:00"),
)


def test_the_judged_rows_carry_their_gate_window_accuracy() -> None:
    assert gate_column(DECISION, "xgboost") == {
        "always_long": "0.5123",
        "champion v3": "0.4990",
        "xgboost": "0.5012 (challenger)",
    }
    assert gate_column(GateDecision(False, ("nothing new",), (), DECISION.window), "xgboost") == {}


def test_the_caption_states_the_gate_window() -> None:
    console = Console(width=200, record=True)
    console.print(results_table("oos", {}, DECISION, challenger="xgboost"))
    text = console.export_text()
    assert "gate window" in text
    assert "gate: latest walk-forward window only, 2025-06-01T00:00 .. 2025-10-01T00:00" in text
    assert "does not beat always_long" in text
