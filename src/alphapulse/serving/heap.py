"""The loaded heap kept out of the cyclic garbage collector's walks: no full collection stalls a request."""

from __future__ import annotations

import gc


def settle_heap() -> None:
    """Take what is loaded now (modules, models) out of the cyclic garbage collector's walks.

    Once BentoML, pandas and a model are loaded, a full collection walks about 420,000 objects: 200 ms
    with the GIL held, every few thousand requests, which made the service's p99 under load. Frozen
    objects are still freed by reference counting; unfreezing first lets this collection reclaim the
    reference cycles of models a reload has just replaced, so reloads do not accumulate memory. That
    collection is the one full walk left: one pause of about 200 ms per reload in each worker.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()
