"""Who may call the service's public API, and how often: per-client keys (``keys``).

Imported by the serving layer, so it depends only on the store and ``limits``.
"""

from alphapulse.access.keys import (
    MAX_TOKEN_LENGTH,
    SCOPES,
    TOKEN_PREFIX,
    AccessKeyError,
    InvalidKeyError,
    IssuedKey,
    KeyInfo,
    KeyTable,
    create_key,
    list_keys,
    parse_limits,
    read_key_table,
    revoke_key,
    rotate_key,
    temporary_key,
    verify_key,
)

__all__ = [
    "MAX_TOKEN_LENGTH",
    "SCOPES",
    "TOKEN_PREFIX",
    "AccessKeyError",
    "InvalidKeyError",
    "IssuedKey",
    "KeyInfo",
    "KeyTable",
    "create_key",
    "list_keys",
    "parse_limits",
    "read_key_table",
    "revoke_key",
    "rotate_key",
    "temporary_key",
    "verify_key",
]
