from __future__ import annotations

import math

from alphapulse.decisions import FittedRule
from alphapulse.features import load_config
from alphapulse.features.technical import volatility_column
from alphapulse.serving.answer import expected_return, held_position


def test_expected_return_is_the_signed_edge_times_the_mean_absolute_move() -> None:
    assert expected_return(0.5, 0.01, 1) == 0.0
    assert math.isclose(expected_return(0.75, 0.01, 4) or 0.0, 0.5 * 0.01 * math.sqrt(2 / math.pi) * 2)
    assert expected_return(0.75, None, 1) is None
    assert expected_return(0.75, math.nan, 1) is None


def test_the_position_is_the_versions_rule_applied_to_the_answer() -> None:
    assert held_position(FittedRule(), 0.51, None) == 1.0
    assert held_position(FittedRule(), 0.49, 0.01) == 0.0
    assert held_position(FittedRule(mode="long_short"), 0.49, 0.01) == -1.0
    assert held_position(FittedRule(mode="long_short", abstain=0.02), 0.49, 0.01) == 0.0
    sized = FittedRule(mode="long_short", volatility_target=0.005, max_leverage=1.0)
    assert held_position(sized, 0.1, 0.01) == -0.5
    assert held_position(sized, 0.9, None) == 0.0, "no volatility estimate: no position"


def test_the_volatility_feature() -> None:
    assert volatility_column(load_config().indicators) == "rvol_24"
