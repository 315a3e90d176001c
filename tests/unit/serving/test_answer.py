from __future__ import annotations

import math

from alphapulse.features import load_config
from alphapulse.serving.answer import direction, expected_return, volatility_column


def test_expected_return_is_the_signed_edge_times_the_mean_absolute_move() -> None:
    assert expected_return(0.5, 0.01, 1) == 0.0
    assert math.isclose(expected_return(0.75, 0.01, 4) or 0.0, 0.5 * 0.01 * math.sqrt(2 / math.pi) * 2)
    assert expected_return(0.75, None, 1) is None
    assert expected_return(0.75, math.nan, 1) is None


def test_direction_and_the_volatility_feature() -> None:
    assert direction(0.5) == "up"
    assert direction(0.4999) == "down"
    assert volatility_column(load_config()) == "rvol_24"
