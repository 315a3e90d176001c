"""The simulated clock: recorded time at a speed factor, optionally moved so that it begins now."""

from __future__ import annotations

import pytest

from alphapulse.replay import ReplayClock

HOUR = 3_600_000
START = 1_756_684_800_000  # 2025-09-01T00:00Z
ORIGIN = 1_800_000_000_000  # some wall-clock moment, 2027-01-15T08:00Z


class Wall:
    """A wall clock the test moves by hand."""

    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


def test_reads_start_at_origin_and_runs_speed_times_faster() -> None:
    wall = Wall(ORIGIN)
    clock = ReplayClock.starting(START, speed=180, origin_ms=ORIGIN, wall=wall)
    assert clock.now() == START
    wall.ms += 20_000  # 20 s of wall time at 180x: one hour of market time
    assert clock.now() == START + HOUR
    assert clock.shift_ms == 0


def test_speed_zero_is_a_frozen_market() -> None:
    wall = Wall(ORIGIN)
    clock = ReplayClock.starting(START, speed=0, origin_ms=ORIGIN, wall=wall)
    wall.ms += 10 * HOUR
    assert clock.now() == START


def test_never_runs_backwards_when_the_wall_clock_does() -> None:
    wall = Wall(ORIGIN)
    clock = ReplayClock.starting(START, speed=60, origin_ms=ORIGIN, wall=wall)
    wall.ms += 60_000
    ahead = clock.now()
    wall.ms -= 30_000  # an NTP step backwards
    assert clock.now() == ahead


def test_origin_defaults_to_now_and_a_restart_with_the_same_origin_resumes_the_market() -> None:
    wall = Wall(ORIGIN)
    first = ReplayClock.starting(START, speed=180, wall=wall)
    assert first.origin_ms == ORIGIN
    wall.ms += 95_000
    restarted = ReplayClock.starting(START, speed=180, origin_ms=first.origin_ms, wall=wall)
    assert restarted.now() == first.now() == START + 95_000 * 180


def test_shift_to_now_moves_history_by_whole_bars_so_market_time_is_wall_time() -> None:
    wall = Wall(ORIGIN + 1_234_567)  # mid-bar
    clock = ReplayClock.starting(START, speed=1, shift_to_now=True, grid_ms=HOUR, wall=wall)
    assert clock.now() == wall.ms
    assert clock.shift_ms % HOUR == 0
    assert START <= clock.data_now() < START + HOUR  # begins within one bar of --start
    assert (clock.data_now() - START) == wall.ms % HOUR  # same phase within the bar as the wall clock
    wall.ms += 5 * HOUR
    assert clock.now() == wall.ms  # at speed 1, market time stays wall time


def test_shift_to_now_at_speed_runs_ahead_of_the_wall_clock() -> None:
    wall = Wall(ORIGIN)
    clock = ReplayClock.starting(START, speed=180, shift_to_now=True, grid_ms=HOUR, wall=wall)
    wall.ms += 20_000
    assert clock.now() == ORIGIN + HOUR


def test_negative_speed_is_refused() -> None:
    with pytest.raises(ValueError, match="speed: -1"):
        ReplayClock.starting(START, speed=-1)
