"""Who may reload: the admin key, compared in constant time; no key configured means nobody may."""

from __future__ import annotations

import secrets

from pydantic import SecretStr


class UnauthorizedError(PermissionError):
    """The admin key is missing or wrong (or no admin key is configured at all)."""


def authorize(expected: SecretStr | None, api_key: str | None) -> None:
    if expected is None or api_key is None:
        raise UnauthorizedError("admin key required")
    if not secrets.compare_digest(api_key.encode(), expected.get_secret_value().encode()):
        raise UnauthorizedError("admin key required")
