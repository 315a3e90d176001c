"""Which exchange's candles the pipeline models. The service asks it too (its outcomes and its stored
history are that exchange's), so it lives apart from the readers: the Bento carries no feed parser."""

from __future__ import annotations

from alphapulse.settings import Settings

#: The exchange of the bundled candles (alphapulse/data/README.md).
BUNDLED_EXCHANGE = "binance"


def pipeline_exchange(settings: Settings) -> str:
    """The configured exchange, else the bundled data's."""
    return settings.exchange or BUNDLED_EXCHANGE
