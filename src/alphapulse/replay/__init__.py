"""A replay exchange: recorded candles served through Binance's REST API on a simulated clock.

``alphapulse replay-exchange`` runs it; with ``ALPHAPULSE_EXCHANGE=binance`` and
``ALPHAPULSE_EXCHANGE_API_BASE`` pointing at it, the whole product runs "live" on recorded data.
See docs/REPLAY.md for the clock's semantics.
"""

from alphapulse.replay.clock import ReplayClock
from alphapulse.replay.faults import FAULTS, FaultPlan, parse_fault
from alphapulse.replay.market import BinanceError, ReplayMarket
from alphapulse.replay.series import Bar, ReplayDataError, Series, from_bars, load_csv
from alphapulse.replay.server import ReplayHTTPServer, replay_server
from alphapulse.replay.service import ReplayOptions, build_market, describe, parse_file_option, serve

__all__ = [
    "FAULTS",
    "Bar",
    "BinanceError",
    "FaultPlan",
    "ReplayClock",
    "ReplayDataError",
    "ReplayHTTPServer",
    "ReplayMarket",
    "ReplayOptions",
    "Series",
    "build_market",
    "describe",
    "from_bars",
    "load_csv",
    "parse_fault",
    "parse_file_option",
    "replay_server",
    "serve",
]
