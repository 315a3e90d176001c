"""``/predict`` on the client's latest bars: the window completed from the store's candles, bit-exact.

A client sends the bars it knows, as few as one. When they reach back to the last bar's anchor (see
``features.matrix``) they are the whole window, as before, and the store is not needed. Otherwise the
window is the store's bars from the anchor up to the client's last bar with the client's bars laid
over them (a client bar replaces the stored bar of the same open time; bars after the store's last one
extend it), and the headlines are the store's in the window's news range plus the client's (an
identical (published_at, title) counted once). The answer is then ``features.build``'s row for that bar
on that history and those headlines, to the last bit: the same ``build_online`` on the same bars. The
client's first bar must join the store's (at most one bar after the store's last), else the client
sends the whole window; the refusal says which open time is needed.

Speed: each worker holds the recent store candles of each instrument it was asked about (exact
``Decimal`` values to compare the client's with, and floats to compute from), and the headlines of
their news range, loaded at the first request and refreshed when older than
``serving_refresh_seconds``, or when a request's bars go beyond them (at most every
``RETRY_SECONDS``), in a background thread while requests go on with what is held: only the first
request of an instrument waits on the store. A computed feature row is memoized
per feature set, last bar and window identity (the snapshot's revision, the client bars that differ
from or extend the store's, the client's extra headlines), so the many clients of one bar pay the
computation once. With the store unreachable, what was loaded serves on; a worker holding nothing
answers only whole windows.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from alphapulse.features import FeatureConfig, anchor_time, build_online, online_window_bars
from alphapulse.serving.inputs import InputError, checked_times, client_window, short_window
from alphapulse.serving.schemas import CandleIn, HeadlineIn
from alphapulse.store.queries import latest_candle, load_candles, load_news, news_frame
from alphapulse.timeframes import timeframe_delta

LOGGER = logging.getLogger(__name__)

OHLCV = ("open", "high", "low", "close", "volume")
#: Bars held beyond the most a window needs (``online_window_bars``): a day of hourly bars, so a
#: client a little behind the store is still completed.
SLACK_BARS = 48
#: Seconds before the store is read again after a read failed, or for bars beyond those it had.
RETRY_SECONDS = 5.0
#: Computed feature rows kept per worker (bars x feature sets x distinct client windows).
MEMO_SIZE = 64

#: (symbol, timeframe, bars held, news lookback): what one snapshot holds.
HistoryKey = tuple[str, str, int, timedelta]


@dataclass(frozen=True)
class Snapshot:
    """One instrument's recent store candles and the headlines of their news range, as read."""

    #: Open times (ns since the epoch, UTC), ascending.
    times: npt.NDArray[np.int64]
    #: Each bar's exact (open, high, low, close, volume), to compare a client's bar with.
    exact: tuple[tuple[Decimal, ...], ...]
    #: The same values as float64 (``float(Decimal)``, as the feature builder converts them), n x 5.
    floats: npt.NDArray[np.float64]
    #: Headlines published from the news range of the first bar held on: times (ns) and titles.
    news_times: npt.NDArray[np.int64]
    news_titles: tuple[object, ...]
    news_keys: frozenset[tuple[int, object]]
    #: Changes only when the content does: part of the memo key.
    revision: int
    #: ``time.monotonic()`` of the read.
    loaded_at: float

    def same_content(self, other: Snapshot) -> bool:
        return (
            np.array_equal(self.times, other.times)
            and self.exact == other.exact
            and np.array_equal(self.news_times, other.news_times)
            and self.news_titles == other.news_titles
        )


@dataclass(frozen=True)
class Computed:
    """The last bar's features (a one-row frame, shared: never modify it) and its window's first bar."""

    features: pd.DataFrame
    window_start: datetime


class PredictHistory:
    """One worker's store candles per instrument and its memo of computed rows (see the module)."""

    def __init__(
        self,
        engine: Engine,
        exchange: str,
        *,
        refresh_seconds: float,
        store_up: Callable[[], bool] = lambda: True,
    ) -> None:
        self._engine = engine
        self._exchange = exchange
        self._refresh_seconds = refresh_seconds
        self._store_up = store_up
        self._snapshots: dict[HistoryKey, Snapshot] = {}
        self._loading: dict[HistoryKey, threading.Lock] = {}
        self._retry_at: dict[HistoryKey, float] = {}
        self._threads: list[threading.Thread] = []
        self._revisions = itertools.count(1)
        self._memo: OrderedDict[Hashable, Computed] = OrderedDict()
        self._memo_lock = threading.Lock()
        self._computing = threading.Lock()
        #: Feature computations run (memo misses and whole windows), for tests and diagnostics.
        self.computations = 0

    def features(
        self,
        symbol: str,
        version: str,
        config: FeatureConfig,
        candles: Sequence[CandleIn],
        headlines: Sequence[HeadlineIn],
        now: datetime,
    ) -> Computed:
        """The features of the client's last bar with ``config`` (feature-set ``version``)."""
        times = checked_times(candles, config, now)
        anchor = anchor_time(pd.Timestamp(times[-1]), config).to_pydatetime()
        if times[0] <= anchor:  # the whole window: the client's bars alone, no store needed
            window = client_window(candles, times, headlines, anchor)
            self.computations += 1
            return Computed(build_online(window.candles, window.news, config), window.window_start)
        return self._completed(symbol, version, config, candles, times, anchor, headlines)

    def _completed(
        self,
        symbol: str,
        version: str,
        config: FeatureConfig,
        candles: Sequence[CandleIn],
        times: list[datetime],
        anchor: datetime,
        headlines: Sequence[HeadlineIn],
    ) -> Computed:
        timeframe = config.timeframe
        step = _ns(timeframe_delta(timeframe))
        client_ns = np.array([_ns(moment - EPOCH) for moment in times], dtype=np.int64)
        anchor_ns, last_ns = _ns(anchor - EPOCH), int(client_ns[-1])
        snapshot = self._snapshot(symbol, config, last_ns)
        short = short_window(times, anchor, config)
        if snapshot is None or len(snapshot.times) == 0:
            raise InputError(
                "candles",
                f"{short}; this worker holds no stored {symbol} {timeframe} candles to complete them",
            )
        store_first, store_last = int(snapshot.times[0]), int(snapshot.times[-1])
        if int(client_ns[0]) > store_last + step:
            raise InputError(
                "candles",
                f"{short}; the stored {symbol} {timeframe} candles end at {_iso(store_last)}, so candles "
                f"from {_iso(store_last + step)} on (no gap) would join them",
            )
        if store_first > anchor_ns:
            raise InputError(
                "candles",
                f"{short}; the stored {symbol} {timeframe} candles held start at {_iso(store_first)}",
            )
        positions = np.searchsorted(snapshot.times, client_ns)
        extra: list[tuple[int, tuple[float, ...]]] = []
        for candle, ns, position in zip(candles, client_ns.tolist(), positions.tolist(), strict=True):
            values = (candle.open, candle.high, candle.low, candle.close, candle.volume)
            stored = position < len(snapshot.times) and int(snapshot.times[position]) == ns
            if not (stored and snapshot.exact[position] == values):
                extra.append((ns, tuple(float(value) for value in values)))
        lookback = _ns(config.sentiment.news_lookback)
        news_low, news_high = anchor_ns + step - lookback, last_ns + step  # (low, high]
        sent = {(_ns(h.published_at.astimezone(UTC) - EPOCH), h.title) for h in headlines}
        extra_news = tuple(
            sorted(key for key in sent if news_low < key[0] <= news_high and key not in snapshot.news_keys)
        )
        key = (version, symbol, timeframe, last_ns, snapshot.revision, tuple(extra), extra_news)
        with self._memo_lock:
            hit = self._memo.get(key)
            if hit is not None:
                self._memo.move_to_end(key)
                return hit
        with self._computing:  # one computation per key, however many clients ask at once
            with self._memo_lock:
                hit = self._memo.get(key)
            if hit is not None:
                return hit
            computed = _compute(
                snapshot, config, anchor_ns, last_ns, extra, extra_news, (news_low, news_high)
            )
            self.computations += 1
            with self._memo_lock:
                self._memo[key] = computed
                while len(self._memo) > MEMO_SIZE:
                    self._memo.popitem(last=False)
        return computed

    def _snapshot(self, symbol: str, config: FeatureConfig, last_ns: int) -> Snapshot | None:
        """The instrument's snapshot, read when missing (the request waits), read again in the background
        when old or behind ``last_ns`` (the request serves on the one held); one read at a time per
        instrument."""
        key: HistoryKey = (
            symbol,
            config.timeframe,
            online_window_bars(config) + SLACK_BARS,
            config.sentiment.news_lookback,
        )
        held = self._snapshots.get(key)
        clock = time.monotonic()
        if held is not None:
            age = clock - held.loaded_at
            behind = len(held.times) == 0 or last_ns > int(held.times[-1])
            if age < self._refresh_seconds and not (behind and age >= RETRY_SECONDS):
                return held
        if clock < self._retry_at.get(key, 0.0) or not self._store_up():
            return held
        lock = self._loading.setdefault(key, threading.Lock())
        if held is None:  # the first read: this request waits for it (and others for this one)
            with lock:
                current = self._snapshots.get(key)
                return current if current is not None else self._load(symbol, config, key, None)
        if lock.acquire(blocking=False):  # a re-read: in the background, the request serves on what is held
            thread = threading.Thread(
                target=self._reload,
                args=(symbol, config, key, held, lock),
                name="predict-history",
                daemon=True,
            )
            self._threads = [*(t for t in self._threads if t.is_alive()), thread]
            thread.start()
        return held

    def settle(self) -> None:
        """Wait for the re-reads under way (tests)."""
        while self._threads:
            self._threads.pop().join()

    def _reload(
        self, symbol: str, config: FeatureConfig, key: HistoryKey, held: Snapshot, lock: threading.Lock
    ) -> None:
        try:
            if self._snapshots.get(key) is held:
                self._load(symbol, config, key, held)
        finally:
            lock.release()

    def _load(
        self, symbol: str, config: FeatureConfig, key: HistoryKey, held: Snapshot | None
    ) -> Snapshot | None:
        """Read the snapshot and hold it (same content as ``held``: its revision, so the memo stays valid);
        on a store error keep ``held`` and try again ``RETRY_SECONDS`` later."""
        try:
            fresh = self._read(symbol, config, key)
        except SQLAlchemyError as error:
            LOGGER.warning("reading the stored %s %s candles failed: %s", symbol, config.timeframe, error)
            self._retry_at[key] = time.monotonic() + RETRY_SECONDS
            return held
        if held is not None and fresh.same_content(held):
            fresh = replace(fresh, revision=held.revision)
        self._snapshots[key] = fresh
        return fresh

    def _read(self, symbol: str, config: FeatureConfig, key: HistoryKey) -> Snapshot:
        _symbol, timeframe, bars, lookback = key
        step = timeframe_delta(timeframe)
        newest = latest_candle(self._engine, self._exchange, symbol, timeframe)
        loaded_at = time.monotonic()
        if newest is None:
            candles = load_candles(self._engine, self._exchange, symbol, timeframe, end=EPOCH)
        else:
            start = pd.Timestamp(newest["open_time"]).tz_convert("UTC").to_pydatetime() - step * (bars - 1)
            candles = load_candles(self._engine, self._exchange, symbol, timeframe, start=start)
        times = pd.DatetimeIndex(candles["open_time"]).as_unit("ns").asi8
        exact = tuple(zip(*(candles[name].tolist() for name in OHLCV), strict=True))
        floats = candles[list(OHLCV)].to_numpy().astype(np.float64).reshape(len(candles), len(OHLCV))
        if len(times):
            first_close = pd.Timestamp(int(times[0]), tz="UTC").to_pydatetime() + step
            news = load_news(self._engine, start=first_close - lookback)
        else:
            news = news_frame([])
        news_times = pd.DatetimeIndex(news["published_at"]).as_unit("ns").asi8
        titles = tuple(news["title"].tolist())
        return Snapshot(
            times=np.asarray(times, dtype=np.int64),
            exact=exact,
            floats=floats,
            news_times=np.asarray(news_times, dtype=np.int64),
            news_titles=titles,
            news_keys=frozenset(zip(news_times.tolist(), titles, strict=True)),
            revision=next(self._revisions),
            loaded_at=loaded_at,
        )


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _compute(
    snapshot: Snapshot,
    config: FeatureConfig,
    anchor_ns: int,
    last_ns: int,
    extra: list[tuple[int, tuple[float, ...]]],
    extra_news: tuple[tuple[int, str], ...],
    news_range: tuple[int, int],
) -> Computed:
    """``build_online`` on the store's bars from the anchor with the client's laid over them."""
    low = int(np.searchsorted(snapshot.times, anchor_ns, side="left"))
    high = int(np.searchsorted(snapshot.times, last_ns, side="right"))
    times, floats = snapshot.times[low:high], snapshot.floats[low:high]
    if extra:
        extra_times = np.array([ns for ns, _values in extra], dtype=np.int64)
        extra_floats = np.array([values for _ns, values in extra], dtype=np.float64)
        keep = ~np.isin(times, extra_times)
        times = np.concatenate([times[keep], extra_times])
        floats = np.concatenate([floats[keep], extra_floats])
        order = np.argsort(times, kind="stable")
        times, floats = times[order], floats[order]
    open_time = pd.DatetimeIndex(pd.to_datetime(times, unit="ns", utc=True), name="open_time")
    candles = pd.DataFrame({"open_time": open_time, **{name: floats[:, i] for i, name in enumerate(OHLCV)}})
    news_low, news_high = news_range
    in_range = (snapshot.news_times > news_low) & (snapshot.news_times <= news_high)
    stored = np.flatnonzero(in_range)
    published = [*snapshot.news_times[stored].tolist(), *(ns for ns, _title in extra_news)]
    titles = [*(snapshot.news_titles[i] for i in stored.tolist()), *(title for _ns, title in extra_news)]
    news = pd.DataFrame(
        {
            "published_at": pd.to_datetime(np.array(published, dtype=np.int64), unit="ns", utc=True),
            "title": titles,
        }
    )
    features = build_online(candles, news, config)
    return Computed(features, pd.Timestamp(int(times[0]), tz="UTC").to_pydatetime())


def _ns(delta: timedelta) -> int:
    """A duration in whole nanoseconds (exact: ``timedelta`` is whole microseconds)."""
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def _iso(ns: int) -> str:
    return str(pd.Timestamp(ns, tz="UTC").isoformat())
