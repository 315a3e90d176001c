"""The retraining throttle against the real store: at most one request per model per cooldown."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from alphapulse.events import DRIFT_DETECTED, PERFORMANCE_DEGRADED
from alphapulse.monitoring.retrain import Problem, last_request, request_retrain
from alphapulse.store import RETRAIN_REQUESTS

NOON = datetime(2025, 10, 6, 12, tzinfo=UTC)
DAY = timedelta(hours=24)
DRIFT = Problem(DRIFT_DETECTED, "drift: 20 of 30 compared columns drifted", {"drift_share": 0.67})
SLUMP = Problem(PERFORMANCE_DEGRADED, "performance: live accuracy 0.41 < 0.50", {"live_accuracy": 0.41})


class Prefect:
    """Stands in for the Prefect API at the one boundary the throttle has: did an event get through?"""

    def __init__(self, *, reachable: bool = True) -> None:
        self.reachable = reachable
        self.events: list[tuple[str, str, dict[str, Any]]] = []

    def __call__(self, event: str, model_name: str, payload: dict[str, Any]) -> bool:
        if self.reachable:
            self.events.append((event, model_name, payload))
        return self.reachable


def test_one_request_per_cooldown_and_the_payload_says_why(engine: Engine) -> None:
    prefect = Prefect()
    first = request_retrain(engine, "m", [DRIFT, SLUMP], cooldown=DAY, now=NOON, send=prefect)
    assert first.requested
    assert first.state == "requested"
    assert [e for e, _, _ in prefect.events] == [DRIFT_DETECTED, PERFORMANCE_DEGRADED]
    payload = prefect.events[0][2]
    assert payload["reason"] == DRIFT.reason
    assert payload["reasons"] == [DRIFT.reason, SLUMP.reason]
    assert payload["drift_share"] == 0.67
    assert payload["cooldown_hours"] == 24
    assert payload["previous_request"] is None
    assert last_request(engine, "m") == NOON

    for hours in (1, 12, 23.9):
        later = request_retrain(
            engine, "m", [DRIFT], cooldown=DAY, now=NOON + timedelta(hours=hours), send=prefect
        )
        assert not later.requested
        assert later.state == "throttled"
        assert later.message.startswith("retraining throttled: last requested 2025-10-06 12:00 UTC")
        assert later.next_allowed == NOON + DAY
    assert len(prefect.events) == 2

    after = request_retrain(engine, "m", [SLUMP], cooldown=DAY, now=NOON + DAY, send=prefect)
    assert after.requested
    assert prefect.events[-1][2]["previous_request"] == NOON.isoformat()
    with engine.connect() as connection:
        rows = connection.execute(select(RETRAIN_REQUESTS).order_by(RETRAIN_REQUESTS.c.id)).all()
    assert [json.loads(r.events) for r in rows] == [
        [DRIFT_DETECTED, PERFORMANCE_DEGRADED],
        [PERFORMANCE_DEGRADED],
    ]
    assert json.loads(rows[0].reasons)[0]["reason"] == DRIFT.reason


def test_each_model_has_its_own_cooldown(engine: Engine) -> None:
    prefect = Prefect()
    assert request_retrain(engine, "btc", [DRIFT], cooldown=DAY, now=NOON, send=prefect).requested
    assert request_retrain(engine, "eth", [DRIFT], cooldown=DAY, now=NOON, send=prefect).requested
    assert not request_retrain(engine, "btc", [DRIFT], cooldown=DAY, now=NOON, send=prefect).requested


def test_nothing_found_sends_nothing(engine: Engine) -> None:
    prefect = Prefect()
    decision = request_retrain(engine, "m", [], cooldown=DAY, now=NOON, send=prefect)
    assert (decision.requested, decision.state, decision.message) == (
        False,
        "not needed",
        "no retraining needed",
    )
    assert prefect.events == []
    assert last_request(engine, "m") is None


def test_an_event_nobody_received_does_not_start_the_cooldown(engine: Engine) -> None:
    offline = request_retrain(engine, "m", [DRIFT], cooldown=DAY, now=NOON, send=Prefect(reachable=False))
    assert not offline.requested
    assert offline.state == "not sent"
    assert offline.message.startswith("retraining not requested: no Prefect API")
    assert last_request(engine, "m") is None
    online = Prefect()
    assert request_retrain(engine, "m", [DRIFT], cooldown=DAY, now=NOON, send=online).requested


def test_a_zero_cooldown_never_throttles(engine: Engine) -> None:
    prefect = Prefect()
    for _ in range(3):
        assert request_retrain(engine, "m", [DRIFT], cooldown=timedelta(0), now=NOON, send=prefect).requested
    assert len(prefect.events) == 3
