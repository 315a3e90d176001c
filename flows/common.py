"""Task settings shared by every flow, so retries and caching read the same everywhere."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from prefect import Task
from prefect.cache_policies import INPUTS, TASK_SOURCE
from prefect.client.schemas.objects import State, TaskRun
from prefect.tasks import exponential_backoff

from alphapulse.sources.exchange import ExchangeSourceError
from alphapulse.sources.news import FeedUnavailableError

#: Failures that a later attempt may not see: an exchange or feed that was unreachable.
TRANSIENT = (ExchangeSourceError, FeedUnavailableError)
#: Network steps: exponential backoff with jitter, on top of the library's own per-request retries.
NETWORK_RETRIES = 3
NETWORK_BACKOFF = exponential_backoff(backoff_factor=10)
NETWORK_JITTER = 0.5
# Timeouts: mapped tasks run in Prefect's worker threads, where a timeout cannot interrupt anything (Prefect
# warns on every such run), so they carry none; their flow, which runs in the main thread, bounds them.
# Tasks called directly (in the flow's thread) keep their own.
#: Derived data is cached on its inputs (which include a fingerprint of the source data) and on the code.
DERIVED_CACHE = INPUTS + TASK_SOURCE
DERIVED_CACHE_EXPIRATION = timedelta(days=7)


def transient_failure(_task: Task[..., Any], _run: TaskRun, state: State[Any]) -> bool:
    """Retry condition: only transient failures are retried; bad input fails at once with its error."""
    error = state.result(raise_on_failure=False)
    return isinstance(error, TRANSIENT)
