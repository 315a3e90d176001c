"""Which market a use case works on, with the settings' defaults filled in in one place."""

from __future__ import annotations

from dataclasses import dataclass

from alphapulse.settings import Settings
from alphapulse.sources.modelled import pipeline_exchange


@dataclass(frozen=True)
class Instrument:
    """One exchange's bars of one symbol and timeframe: the unit every use case ingests, builds, trains,
    monitors and exports."""

    exchange: str
    symbol: str
    timeframe: str

    @classmethod
    def of(
        cls,
        settings: Settings,
        symbol: str | None = None,
        *,
        exchange: str | None = None,
        timeframe: str | None = None,
    ) -> Instrument:
        """Unset parts from the settings: the pipeline's exchange, the first configured symbol, the
        configured timeframe."""
        return cls(
            exchange=exchange or pipeline_exchange(settings),
            symbol=symbol or settings.symbols[0],
            timeframe=timeframe or settings.timeframe,
        )
