"""The registry's versions of one instrument, and the champion changed by hand (overriding the gate, or
undoing a promotion); either change starts the same export and rollout as a gate promotion."""

from __future__ import annotations

from alphapulse.pipeline.instrument import Instrument
from alphapulse.settings import Settings
from alphapulse.training import registry
from alphapulse.training.registry import AliasChange, VersionInfo


def registered_name(instrument: Instrument) -> str:
    return registry.registered_name(instrument.symbol, instrument.timeframe)


def list_versions(settings: Settings, instrument: Instrument) -> list[VersionInfo]:
    """Every registered version, newest first; none when nothing was trained yet."""
    return registry.list_versions(instrument.symbol, instrument.timeframe, settings=settings)


def promote(settings: Settings, instrument: Instrument, version: str | None = None) -> AliasChange:
    """Make ``version`` (default: the current challenger) the champion."""
    return registry.promote(instrument.symbol, instrument.timeframe, version=version, settings=settings)


def rollback(settings: Settings, instrument: Instrument) -> AliasChange:
    """Restore the champion before the current one."""
    return registry.rollback(instrument.symbol, instrument.timeframe, settings=settings)
