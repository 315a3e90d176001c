"""The API keys of the service's clients, by hand: the command line's way to ``alphapulse.access``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from alphapulse.access import AccessKeyError, IssuedKey, KeyInfo, keys
from alphapulse.pipeline.store import open_store
from alphapulse.settings import Settings


def parse_limit_options(options: Iterable[str]) -> dict[str, str]:
    """``SCOPE=LIMITS`` pairs (the command line's ``--limit``) as the per-scope overrides of a key."""
    overrides: dict[str, str] = {}
    for option in options:
        scope, sep, notation = option.partition("=")
        scope = scope.strip()
        if not sep or not scope:
            raise AccessKeyError(f"limit: {option!r} is not SCOPE=LIMITS (e.g. predict=100/second;5000/day)")
        if scope in overrides:
            raise AccessKeyError(f"limit: scope {scope!r} given twice")
        overrides[scope] = notation
    return overrides


def create_key(
    settings: Settings, name: str, scopes: Iterable[str], limits: Mapping[str, str] | None = None
) -> IssuedKey:
    return keys.create_key(open_store(settings), name, scopes, limits)


def list_keys(settings: Settings, *, include_revoked: bool = False) -> list[KeyInfo]:
    return keys.list_keys(open_store(settings), include_revoked=include_revoked)


def rotate_key(settings: Settings, key: str) -> IssuedKey:
    return keys.rotate_key(open_store(settings), key)


def revoke_key(settings: Settings, key: str) -> KeyInfo:
    return keys.revoke_key(open_store(settings), key)
