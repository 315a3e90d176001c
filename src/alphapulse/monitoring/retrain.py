"""Retraining requests, throttled: at most one per model per cooldown, however long a problem lasts.

The monitor runs hourly and a drifted market stays drifted for a while; without a memory it would ask
for a retraining every hour. Every request that reached Prefect is recorded in the store, with its
reasons; within the cooldown the monitor still reports the problem but sends nothing. Prefect adds
guards of its own (prefect.yaml): one automation for both events collapses a burst into one run, and the
training deployment's concurrency limit cancels a new run while one is in progress.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, insert, select

from alphapulse.events import DRIFT_DETECTED, PERFORMANCE_DEGRADED, emit
from alphapulse.monitoring.drift import DriftReport
from alphapulse.monitoring.outcomes import OutcomeCheck
from alphapulse.store import RETRAIN_REQUESTS

#: Sends one event for a model; True when a Prefect API received it.
Sender = Callable[[str, str, dict[str, Any]], bool]


@dataclass(frozen=True)
class Problem:
    event: str
    reason: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class RetrainDecision:
    model_name: str
    problems: tuple[Problem, ...]
    requested: bool
    #: What happened, in one line: requested, throttled (until when), not sent, or nothing to fix.
    message: str
    previous_request: datetime | None = None
    next_allowed: datetime | None = None

    @property
    def state(self) -> str:
        """One word for tables: requested, throttled, not sent, or not needed."""
        if self.requested:
            return "requested"
        if self.next_allowed is not None:
            return "throttled"
        return "not sent" if self.problems else "not needed"

    def summary(self) -> dict[str, Any]:
        return {
            "model_name": self.model_name,
            "requested": self.requested,
            "state": self.state,
            "message": self.message,
            "reasons": [p.reason for p in self.problems],
            "previous_request": self.previous_request.isoformat() if self.previous_request else None,
            "next_allowed": self.next_allowed.isoformat() if self.next_allowed else None,
        }


def send_event(event: str, model_name: str, payload: dict[str, Any]) -> bool:
    return emit(event, model_name=model_name, payload=payload)


def last_request(engine: Engine, model_name: str) -> datetime | None:
    query = select(func.max(RETRAIN_REQUESTS.c.requested_at)).where(
        RETRAIN_REQUESTS.c.model_name == model_name
    )
    with engine.connect() as connection:
        moment = connection.execute(query).scalar_one_or_none()
    return moment if isinstance(moment, datetime) else None


def request_retrain(
    engine: Engine,
    model_name: str,
    problems: list[Problem],
    *,
    cooldown: timedelta,
    now: datetime | None = None,
    send: Sender = send_event,
) -> RetrainDecision:
    """Send the problems' events unless a request for ``model_name`` went out within ``cooldown``."""
    now = now or datetime.now(UTC)
    found = tuple(problems)
    if not found:
        return RetrainDecision(model_name, found, requested=False, message="no retraining needed")
    previous = last_request(engine, model_name)
    if previous is not None and now - previous < cooldown:
        allowed = previous + cooldown
        return RetrainDecision(
            model_name,
            found,
            requested=False,
            message=(
                f"retraining throttled: last requested {previous:%Y-%m-%d %H:%M} UTC "
                f"({(now - previous).total_seconds() / 3600:.1f} h ago); cooldown "
                f"{cooldown.total_seconds() / 3600:g} h, next request from {allowed:%Y-%m-%d %H:%M} UTC"
            ),
            previous_request=previous,
            next_allowed=allowed,
        )
    why = {
        "reasons": [p.reason for p in found],
        "requested_at": now.isoformat(),
        "previous_request": previous.isoformat() if previous else None,
        "cooldown_hours": cooldown.total_seconds() / 3600,
    }
    sent = [p for p in found if send(p.event, model_name, {**p.payload, "reason": p.reason, **why})]
    if not sent:
        return RetrainDecision(
            model_name,
            found,
            requested=False,
            message="retraining not requested: no Prefect API received the events (set PREFECT_API_URL)",
            previous_request=previous,
        )
    with engine.begin() as connection:
        connection.execute(
            insert(RETRAIN_REQUESTS).values(
                model_name=model_name,
                requested_at=now,
                events=json.dumps([p.event for p in sent]),
                reasons=json.dumps([asdict(p) for p in sent], default=str),
            )
        )
    return RetrainDecision(
        model_name,
        found,
        requested=True,
        message=f"retraining requested: sent {', '.join(p.event for p in sent)}",
        previous_request=previous,
        next_allowed=now + cooldown,
    )


def problems(drift: DriftReport | None, outcomes: OutcomeCheck | None) -> list[Problem]:
    """What the checks found that retraining may fix, each with the event that asks for it."""
    found = []
    if drift is not None and drift.detected:
        found.append(
            Problem(
                event=DRIFT_DETECTED,
                reason=f"drift: {drift.reason}",
                payload={
                    "drift_share": drift.drift_share,
                    "threshold": drift.threshold,
                    "drifted_columns": list(drift.drifted_columns),
                    "severe_columns": list(drift.severe_columns),
                    "missing_columns": [m.column for m in drift.missing],
                    "reference": drift.reference_source,
                    "current_window": [m.isoformat() for m in drift.current_window],
                    "report": str(drift.html_path),
                },
            )
        )
    if outcomes is not None and outcomes.degraded and outcomes.judged is not None:
        judged = outcomes.judged
        found.append(
            Problem(
                event=PERFORMANCE_DEGRADED,
                reason=(
                    f"performance: champion v{judged.model_version} live accuracy {judged.accuracy:.3f} "
                    f"< {outcomes.accuracy_floor:.3f} on {judged.called} resolved bars it called"
                ),
                payload={
                    "model_version": judged.model_version,
                    "live_accuracy": judged.accuracy,
                    "floor": outcomes.accuracy_floor,
                    "resolved_bars": judged.resolved,
                    "requests": judged.requests,
                },
            )
        )
    return found
