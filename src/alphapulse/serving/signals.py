"""The latest precomputed feature row per instrument, kept in memory for ``/signal``.

Every feature build publishes its matrix's last row, the latest closed bar's features, with the bar's
exact Decimal close, in the shared store (``features.latest``, table ``online_features``): bit-identical
to what ``/predict`` computes from the same candles. Serving reads that row once per change, so
answering a signal is a dictionary lookup and one model call. ``refresh`` is cheap when nothing changed
(one narrow query per instrument) and swaps the whole mapping at once, so readers never see a
half-updated state.

What is in memory is what ``/signal`` answers from while the store is down, so a refresh only ever
replaces a bar with a newer read: one that fails part-way, or finds a row gone that it read before,
keeps the bar it had (``ensure_fresh`` refuses it once it is too old). And the cache tells apart an
instrument the store has no row for (404: the features were never built) from one it has not managed to
read (503: the store was unreachable since the model was loaded, as for a worker started or a model
swapped in during an outage); before, both were "no features", a 404 that an outage made untrue.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import pandas as pd
from sqlalchemy import Engine

from alphapulse.features import FeatureConfig, anchor_time, latest_stamp, read_latest
from alphapulse.features.latest import Stamp
from alphapulse.serving.schemas import StoreUnreachable

#: (symbol, timeframe, feature-set version): one published row.
Key = tuple[str, str, str]


class NoFeaturesError(LookupError):
    """The store answered and has no precomputed features for the instrument: ``alphapulse features
    build`` has not run for it."""


class StoreUnreachableError(LookupError):
    """This worker has not read the instrument's features: the store has not answered a read since the
    model was loaded. ``unreachable`` is the 503 answer's body."""

    def __init__(self, unreachable: StoreUnreachable) -> None:
        super().__init__(unreachable.reason)
        self.unreachable = unreachable


@dataclass(frozen=True)
class LatestBar:
    as_of: datetime
    features: pd.DataFrame
    reference_price: Decimal
    window_start: datetime
    #: What the row was read from; a different stamp in the store means a newly published row.
    stamp: Stamp


class SignalCache:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        #: What the store held for each instrument when last read: the latest bar, or None for no row.
        #: An instrument missing here has never been read. Instruments no model serves any more stay (a
        #: few kilobytes each), so a request still holding the model a reload replaced finds its bar.
        self._latest: dict[Key, LatestBar | None] = {}
        #: Refreshes run one at a time (the store thread's, and a reload's for the models it swaps in),
        #: each from the mapping the previous one left, so none undoes another's reads.
        self._refreshing = threading.Lock()

    def get(self, symbol: str, timeframe: str, feature_set: str) -> LatestBar:
        """The instrument's latest bar; :class:`NoFeaturesError` when the store has none, and
        :class:`StoreUnreachableError` when it has not been read."""
        latest = self._latest  # one mapping throughout: a refresh swaps in another, never edits this one
        key = (symbol, timeframe, feature_set)
        if key not in latest:
            reason = (
                f"the features of feature set {feature_set} for {symbol} {timeframe} have not been read "
                "from the store since this worker loaded the model: the store is unreachable (or the "
                "first read is under way); /readyz is 503 until it is read"
            )
            raise StoreUnreachableError(
                StoreUnreachable(reason=reason, symbol=symbol, timeframe=timeframe, feature_set=feature_set)
            )
        bar = latest[key]
        if bar is None:
            raise NoFeaturesError(
                f"no precomputed features of feature set {feature_set} for {symbol} {timeframe}; run "
                "`alphapulse features build`"
            )
        return bar

    def covers(self, keys: Iterable[Key]) -> bool:
        """Every instrument has been read (found or not), so none answers for want of a read."""
        latest = self._latest
        return all(key in latest for key in keys)

    def read(self, keys: Iterable[Key]) -> dict[Key, LatestBar]:
        """The bars held for ``keys`` (those read and found)."""
        latest = self._latest
        return {key: bar for key in keys if (bar := latest.get(key)) is not None}

    def refresh(self, wanted: Mapping[Key, FeatureConfig]) -> None:
        """Re-read the instruments (key, feature config) whose published row changed. A store error
        propagates (the caller marks the store down) once the instruments read so far are swapped in;
        the others keep what they had."""
        with self._refreshing:
            previous = self._latest
            latest = dict(previous)
            try:
                for key, config in wanted.items():
                    latest[key] = self._read(key, config, previous.get(key))
            finally:
                self._latest = latest

    def _read(self, key: Key, config: FeatureConfig, cached: LatestBar | None) -> LatestBar | None:
        symbol, timeframe, version = key
        if cached is not None and latest_stamp(self._engine, version, symbol, timeframe) == cached.stamp:
            return cached
        row = read_latest(self._engine, version, symbol, timeframe)
        if row is None:
            return cached  # a row read before and gone now: the bar served so far ages out by itself
        return LatestBar(
            as_of=row.as_of,
            features=row.features,
            reference_price=row.close,
            window_start=anchor_time(pd.Timestamp(row.as_of), config).to_pydatetime(),
            stamp=row.stamp,
        )
