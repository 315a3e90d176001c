"""Per-key rate limits and quotas, and the budget of wrong keys an address may present.

Counts live in the storage ``settings.serving_limits_storage`` names (the ``limits`` library): Redis in
production, so every worker of every replica counts against one budget; memory in embedded mode, one
budget per worker process. Fixed windows: one atomic increment per limit and request, which Redis does
in a round trip; a key's window starts with its first request.

A storage failure admits the request (logged once a minute): rate limiting protects the service, and
refusing every client because Redis restarted would be the outage it exists to prevent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from functools import lru_cache

from limits import RateLimitItem, parse_many
from limits.aio.strategies import FixedWindowRateLimiter
from limits.storage import storage_from_string

from alphapulse.settings import Settings

LOGGER = logging.getLogger(__name__)

#: Seconds between two log lines about an unreachable limits storage.
COMPLAIN_EVERY = 60.0


@lru_cache(maxsize=256)
def rate_items(text: str) -> tuple[RateLimitItem, ...]:
    """``"20/second;1000000/day"`` as the library's items (cached: keys repeat their notation)."""
    return tuple(parse_many(text))


def async_storage_uri(uri: str) -> tuple[str, dict[str, str]]:
    """The async variant of a ``limits`` storage URI; Redis through redis-py (already a dependency)."""
    scheme = uri.split("://", 1)[0]
    options = {"implementation": "redispy"} if scheme.startswith(("redis", "rediss")) else {}
    return (uri if scheme.startswith("async+") else f"async+{uri}"), options


class RateLimits:
    def __init__(self, settings: Settings) -> None:
        uri, options = async_storage_uri(settings.serving_limits_storage)
        self._limiter = FixedWindowRateLimiter(storage_from_string(uri, **options))
        self._defaults = {scope: rate_items(text) for scope, text in settings.serving_key_limits.items()}
        self._failures = rate_items(settings.serving_auth_failure_limit)
        self._complained = 0.0

    async def admit(self, key_id: str, scope: str, own: Mapping[str, str]) -> float | None:
        """Count one request of ``key_id`` on ``scope``: None when within every limit, else the seconds
        until the exhausted one resets (the ``Retry-After``). A request over one limit is not counted
        against the others."""
        items = rate_items(own[scope]) if scope in own else self._defaults.get(scope, ())
        return await self._take(items, ("key", key_id, scope))

    async def failed(self, source: str) -> bool:
        """Count a wrong key presented from ``source``; True when that used up the address's budget."""
        try:
            over = [not await self._limiter.hit(item, "auth-failures", source) for item in self._failures]
        except Exception as error:
            self._complain(error)
            return False
        return any(over)

    async def _take(self, items: tuple[RateLimitItem, ...], identifiers: tuple[str, ...]) -> float | None:
        try:
            for item in items:
                if not await self._limiter.test(item, *identifiers):
                    return await self._retry_after(item, identifiers)
            for item in items:
                if not await self._limiter.hit(item, *identifiers):
                    return await self._retry_after(item, identifiers)
        except Exception as error:
            self._complain(error)
        return None

    async def _retry_after(self, item: RateLimitItem, identifiers: tuple[str, ...]) -> float:
        stats = await self._limiter.get_window_stats(item, *identifiers)
        return max(stats.reset_time - time.time(), 0.0)

    def _complain(self, error: Exception) -> None:
        now = time.monotonic()
        if now - self._complained >= COMPLAIN_EVERY:
            self._complained = now
            LOGGER.error(
                "rate limits not enforced, their storage failed: %s", str(error).splitlines()[0][:200]
            )
