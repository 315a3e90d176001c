"""The replay's simulated clock: recorded time that runs ``speed`` times faster than the wall clock.

Two timelines meet here. *Data time* is the time the bars were recorded at; the clock reads ``start`` in
data time at the wall-clock moment ``origin`` and advances ``speed`` data-milliseconds per wall
millisecond. *Market time* is what the exchange shows its clients: data time plus ``shift``, a whole
number of bars, so shifted bars stay on their timeframe's grid. Everything the server answers (which
bars exist, which one is forming, ``/api/v3/time``) is read from market time.

The clock is a pure function of the wall clock, so a restarted server given the same ``origin`` resumes
the same market instead of rewinding it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class ReplayClock:
    """Market time in epoch milliseconds; never goes backwards within a process."""

    start_ms: int
    speed: float
    origin_ms: int
    shift_ms: int = 0
    wall: Callable[[], int] = wall_ms
    _last: int = field(default=-(2**62), init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.speed < 0:
            raise ValueError(f"speed: {self.speed} is negative; use 0 for a frozen clock")

    @classmethod
    def starting(
        cls,
        start_ms: int,
        *,
        speed: float,
        origin_ms: int | None = None,
        shift_to_now: bool = False,
        grid_ms: int = 1,
        wall: Callable[[], int] = wall_ms,
    ) -> ReplayClock:
        """A clock that reads ``start_ms`` at ``origin_ms`` (default: now).

        With ``shift_to_now`` the market time at ``origin`` is the origin itself: history is moved
        forward by whole multiples of ``grid_ms`` (the bar length), and the replay begins up to one bar
        after ``start_ms`` so that the phase within the current bar matches the wall clock. At speed 1
        market time then equals wall time and the last closed bar is the one that closed last in reality.
        """
        origin = wall() if origin_ms is None else origin_ms
        if not shift_to_now:
            return cls(start_ms=start_ms, speed=speed, origin_ms=origin, wall=wall)
        if grid_ms <= 0:
            raise ValueError(f"grid_ms: {grid_ms} must be positive")
        shift = (origin - start_ms) // grid_ms * grid_ms
        return cls(start_ms=origin - shift, speed=speed, origin_ms=origin, shift_ms=shift, wall=wall)

    def data_now(self) -> int:
        """Data time now: which recorded bars have opened."""
        elapsed = self.wall() - self.origin_ms
        reading = self.start_ms + int(elapsed * self.speed)
        with self._lock:
            self._last = max(self._last, reading)
            return self._last

    def now(self) -> int:
        """Market time now, as ``/api/v3/time`` reports it."""
        return self.data_now() + self.shift_ms
