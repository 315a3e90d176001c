"""The decision rule: calls, positions, sizing, costs, and the abstain band's choice."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from alphapulse import decisions
from alphapulse.decisions import Costs, DecisionRule, FittedRule

PROBA = np.array([0.9, 0.52, 0.5, 0.48, 0.1])


def test_calls_abstain_inside_the_band() -> None:
    assert decisions.calls(PROBA, 0.0).tolist() == [1, 1, 0, -1, -1]
    assert decisions.calls(PROBA, 0.05).tolist() == [1, 0, 0, 0, -1]
    assert [decisions.call(p, 0.05) for p in PROBA] == ["up", "flat", "flat", "flat", "down"]


def test_a_band_per_bar() -> None:
    assert decisions.calls(PROBA, np.array([0.45, 0.0, 0.0, 0.0, 0.35])).tolist() == [0, 1, 0, -1, -1]


def test_long_flat_holds_nothing_on_a_down_call_long_short_goes_short() -> None:
    assert decisions.positions(DecisionRule(mode="long_flat"), PROBA, 0.0).tolist() == [1, 1, 0, 0, 0]
    assert decisions.positions(DecisionRule(mode="long_short"), PROBA, 0.0).tolist() == [1, 1, 0, -1, -1]


def test_volatility_targeting_scales_and_caps_and_never_sizes_an_unknown_volatility() -> None:
    rule = DecisionRule(mode="long_short", volatility_target=0.01, max_leverage=2.0)
    volatility = np.array([0.02, 0.001, np.nan, 0.01, 0.0])
    assert decisions.positions(rule, PROBA, 0.0, volatility).tolist() == [0.5, 2.0, 0.0, -1.0, 0.0]
    with pytest.raises(ValueError, match=r"decision\.volatility_target"):
        decisions.positions(rule, PROBA, 0.0, None)


def test_costs_are_charged_per_unit_traded_and_a_flip_trades_two() -> None:
    position = np.array([1.0, 1.0, -1.0, 0.0])
    assert decisions.turnover(position).tolist() == [1, 0, 2, 1]
    log_returns = np.log(np.array([1.01, 1.02, 0.99, 1.05]))
    net = decisions.net_returns(position, log_returns, 0.001)
    assert net == pytest.approx([0.01 - 0.001, 0.02, 0.01 - 0.002, -0.001])
    assert Costs(fee_bps=10, slippage_bps=2).per_unit == pytest.approx(0.0012)


def test_the_band_with_the_best_mean_net_return_is_chosen_ties_go_narrower() -> None:
    rule = DecisionRule(abstain_grid=(0.1, 0.0, 0.2))
    assert rule.abstain_grid == (0.0, 0.1, 0.2)
    proba = np.array([0.55, 0.7, 0.55, 0.7])
    # The confident calls win, the hesitant ones lose: only a band of 0.1 keeps the winners alone.
    returns = np.log(np.array([0.98, 1.03, 0.98, 1.03]))
    assert decisions.choose_abstain(rule, proba, returns, 0.0) == 0.1
    assert decisions.choose_abstain(rule, np.full(4, 0.5), returns, 0.0) == 0.0


def test_bad_bands_are_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError, match="abstain_grid"):
        DecisionRule(abstain_grid=(0.0, 0.5))


def test_a_fitted_rule_defaults_to_how_versions_before_rules_decided() -> None:
    assert FittedRule() == FittedRule.of(DecisionRule(), 0.0)
    fitted = FittedRule.of(DecisionRule(mode="long_short", abstain_grid=(0.0, 0.03)), 0.03)
    assert FittedRule.model_validate_json(fitted.model_dump_json()) == fitted
