from __future__ import annotations

import time
from pathlib import Path

from alphapulse.serving.health import StoreHealth
from alphapulse.store import make_engine
from tests.support.processes import free_port


def test_a_reachable_store_is_reachable_until_the_grace_runs_out(tmp_path: Path) -> None:
    health = StoreHealth(make_engine(f"sqlite:///{tmp_path / 'store.db'}"), grace=0.2)
    assert not health.reachable  # never checked: not known to answer
    assert health.check()
    assert health.reachable
    time.sleep(0.3)  # a check that hangs refreshes nothing: readiness must not outlive it
    assert not health.reachable


def test_an_unreachable_database_fails_the_check_at_once_and_recovers_on_success() -> None:
    engine = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing")
    health = StoreHealth(engine, grace=60)
    started = time.monotonic()
    assert not health.check()
    assert time.monotonic() - started < 5
    assert not health.reachable
    health.mark_up()
    assert health.reachable
    health.mark_down(RuntimeError("gone"))
    assert not health.reachable
