from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from alphapulse.serving.heap import settle_heap


class Node:
    """An object in a reference cycle: only the cyclic collector can free it."""

    def __init__(self) -> None:
        self.itself = self


@pytest.fixture
def thawed() -> Iterator[None]:
    yield
    gc.unfreeze()


@pytest.mark.usefixtures("thawed")
def test_settling_freezes_what_is_loaded_and_a_reload_reclaims_what_it_replaced() -> None:
    model = Node()
    alive = weakref.ref(model)
    settle_heap()
    assert gc.get_freeze_count() > 0
    del model
    gc.collect()
    assert alive() is not None, "a frozen object is out of the collector's walks"
    settle_heap()
    assert alive() is None, "the next settle (a reload) collects the replaced cycle"
