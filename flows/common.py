"""Task settings shared by every flow, so retries and caching read the same everywhere."""

from __future__ import annotations

from datetime import timedelta

from prefect.cache_policies import INPUTS, TASK_SOURCE
from prefect.tasks import exponential_backoff
from sqlalchemy import Engine

from alphapulse.settings import get_settings
from alphapulse.store import ensure_schema

#: Network steps: exponential backoff with jitter, on top of the library's own per-request retries.
NETWORK_RETRIES = 3
NETWORK_BACKOFF = exponential_backoff(backoff_factor=10)
NETWORK_JITTER = 0.5
#: Derived data is cached on its inputs (which include a fingerprint of the source data) and on the code.
DERIVED_CACHE = INPUTS + TASK_SOURCE
DERIVED_CACHE_EXPIRATION = timedelta(days=7)


def engine() -> Engine:
    """The migrated store of the configured settings."""
    get_settings().ensure_dirs()
    migrated: Engine = ensure_schema()
    return migrated
