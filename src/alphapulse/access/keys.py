"""Per-client API keys: issued, listed, rotated, revoked and verified against the ``api_keys`` table.

A token is ``ap_<key_id>_<secret>``: the key id is public (it names the key in lists, logs and limits),
the secret is 256 random bits shown once, when issued. Only the sha256 of the whole token is stored. A
slow, salted password hash (bcrypt, argon2) exists to make guessing a *low-entropy* secret expensive; a
256-bit random secret cannot be guessed however fast the hash, and the key id already makes every row
unique, so one fast sha256 is as safe here and keeps ``verify_key``, which runs on every request, cheap.

This module sits under the service: it imports only the store and ``limits``, never the serving layer,
the pipeline or the command line.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from limits import RateLimitItem, parse_many
from sqlalchemy import Connection, Engine, Row, bindparam, select, update
from sqlalchemy.exc import IntegrityError

from alphapulse.store.tables import API_KEYS, utc_now

SCOPES: tuple[str, ...] = ("signal", "predict", "admin", "models", "sentiment")
TOKEN_PREFIX = "ap_"  # noqa: S105 (a public marker, not a secret)
#: Longer presented tokens are refused before any parsing: an issued token is 59 characters.
MAX_TOKEN_LENGTH = 128

_KEY_ID = re.compile(r"[0-9a-f]{12}")
# token_urlsafe(32) is 43 characters of the URL-safe base64 alphabet.
_TOKEN = re.compile(rf"{TOKEN_PREFIX}([0-9a-f]{{12}})_([A-Za-z0-9_-]{{43}})")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


class AccessKeyError(ValueError):
    """Bad arguments to a key operation (the operator's to fix); the message names the field."""


class InvalidKeyError(PermissionError):
    """A presented token that grants nothing. The message never holds the token: it ends up in logs."""


@dataclass(frozen=True)
class KeyInfo:
    """Everything about a key but its secret, which is never stored."""

    key_id: str
    name: str
    scopes: tuple[str, ...]
    #: Scope -> ``limits`` notation overriding the settings' defaults for this key.
    limits: dict[str, str]
    created_at: datetime
    revoked_at: datetime | None
    replaced_by: str | None

    def allows(self, scope: str) -> bool:
        """Unknown scopes raise instead of denying: a misspelt scope in the service is a bug, not a 403."""
        if scope not in SCOPES:
            raise AccessKeyError(f"scope: unknown {scope!r} (known: {', '.join(SCOPES)})")
        return scope in self.scopes


@dataclass(frozen=True)
class IssuedKey:
    """A new key and its token: the only time the token exists in clear."""

    info: KeyInfo
    token: str


def parse_limits(text: str, *, scope: str | None = None) -> list[RateLimitItem]:
    """``limits`` notation (``100/second;50000/day``) parsed, or refused naming the scope it is set for,
    so that a typo fails where the limits are set rather than on the first request."""
    field = f"limits for scope {scope!r}" if scope is not None else "limits"
    try:
        return parse_many(text)
    except ValueError:
        raise AccessKeyError(
            f"{field}: {text!r} is not `limits` notation (e.g. 100/second;50000/day)"
        ) from None


def create_key(
    engine: Engine, name: str, scopes: Iterable[str], limits: Mapping[str, str] | None = None
) -> IssuedKey:
    """A new active key for ``name``, which must have none (rotate or revoke that one first)."""
    checked_scopes = _checked_scopes(scopes)
    checked_limits = _checked_limits(limits or {}, checked_scopes)
    _check_name(name)
    with _transaction(engine, name) as connection:
        active = connection.execute(_ACTIVE_BY_NAME, {"name": name}).first()
        if active is not None:
            raise _name_taken(name, active.key_id)
        return _issue(connection, name, checked_scopes, checked_limits)


def list_keys(engine: Engine, *, include_revoked: bool = False) -> list[KeyInfo]:
    """Keys by name, oldest first; only the active ones unless ``include_revoked``."""
    query = _SELECT.order_by(API_KEYS.c.name, API_KEYS.c.created_at, API_KEYS.c.id)
    if not include_revoked:
        query = query.where(API_KEYS.c.revoked_at.is_(None))
    with engine.connect() as connection:
        return [_info(row) for row in connection.execute(query)]


def rotate_key(engine: Engine, key: str) -> IssuedKey:
    """A successor with the same name, scopes and limits; the old key is revoked in the same transaction,
    naming its successor, so the name never has two active keys nor none."""
    with engine.begin() as connection:
        old = _active(connection, key)
        successor = secrets.token_hex(6)
        _revoke(connection, old, replaced_by=successor)
        return _issue(connection, old.name, old.scopes, old.limits, key_id=successor)


def revoke_key(engine: Engine, key: str) -> KeyInfo:
    """Revoke an active key; requests with its token fail from the next one on."""
    with engine.begin() as connection:
        return _revoke(connection, _active(connection, key), replaced_by=None)


def verify_key(engine: Engine, token: str) -> KeyInfo:
    """The active key the token belongs to, or InvalidKeyError: one indexed SELECT, no ORM session.

    The digests are compared in constant time, so timing tells nothing about how much of a guessed secret
    was right.
    """
    key_id = _key_id_of(token)
    with engine.connect() as connection:
        row = connection.execute(_BY_KEY_ID, {"key_id": key_id}).first()
    if row is None:
        raise InvalidKeyError(f"unknown API key {key_id}")
    return _checked(token, row.secret_hash, _info(row))


@dataclass(frozen=True)
class KeyTable:
    """Every key as the store held them at one moment: what the service verifies against while the store
    does not answer, so an outage neither locks out the clients nor lets a revoked key back in (a key
    revoked during the outage stays valid until the store answers again)."""

    keys: Mapping[str, tuple[str, KeyInfo]]

    def verify(self, token: str) -> KeyInfo:
        key_id = _key_id_of(token)
        if key_id not in self.keys:
            raise InvalidKeyError(f"unknown API key {key_id}")
        secret_hash, info = self.keys[key_id]
        return _checked(token, secret_hash, info)


def read_key_table(engine: Engine) -> KeyTable:
    with engine.connect() as connection:
        rows = connection.execute(select(*_COLUMNS, API_KEYS.c.secret_hash)).all()
    return KeyTable({row.key_id: (row.secret_hash, _info(row)) for row in rows})


def _key_id_of(token: str) -> str:
    """The key id of a well-formed token; checked before any lookup, so no unbounded input reaches one."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidKeyError(f"malformed API key: longer than {MAX_TOKEN_LENGTH} characters")
    parsed = _TOKEN.fullmatch(token)
    if parsed is None:
        raise InvalidKeyError(f"malformed API key: expected {TOKEN_PREFIX}<key id>_<secret>")
    return parsed.group(1)


def _checked(token: str, secret_hash: str, info: KeyInfo) -> KeyInfo:
    if not secrets.compare_digest(_digest(token), secret_hash):
        raise InvalidKeyError(f"API key {info.key_id}: wrong secret")
    if info.revoked_at is not None:
        raise InvalidKeyError(f"API key {info.key_id} is revoked")
    return info


@contextmanager
def temporary_key(engine: Engine, name: str, scopes: Iterable[str]) -> Iterator[IssuedKey]:
    """A key that lives only for the block (a deployment's smoke test), revoked however the block ends."""
    issued = create_key(engine, name, scopes)
    try:
        yield issued
    finally:
        revoke_key(engine, issued.info.key_id)


_COLUMNS = (
    API_KEYS.c.key_id,
    API_KEYS.c.name,
    API_KEYS.c.scopes,
    API_KEYS.c.limits,
    API_KEYS.c.created_at,
    API_KEYS.c.revoked_at,
    API_KEYS.c.replaced_by,
)
_SELECT = select(*_COLUMNS)
_BY_KEY_ID = select(*_COLUMNS, API_KEYS.c.secret_hash).where(API_KEYS.c.key_id == bindparam("key_id"))
_ACTIVE_BY_NAME = _SELECT.where(API_KEYS.c.name == bindparam("name"), API_KEYS.c.revoked_at.is_(None))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _checked_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    chosen = set(scopes)
    if unknown := sorted(chosen - set(SCOPES)):
        raise AccessKeyError(f"scope: unknown {', '.join(map(repr, unknown))} (known: {', '.join(SCOPES)})")
    if not chosen:
        raise AccessKeyError(f"scope: give at least one of {', '.join(SCOPES)}")
    return tuple(sorted(chosen))


def _checked_limits(overrides: Mapping[str, str], scopes: tuple[str, ...]) -> dict[str, str]:
    checked: dict[str, str] = {}
    for scope, text in sorted(overrides.items()):
        if scope not in scopes:
            raise AccessKeyError(
                f"limits: scope {scope!r} is not one of the key's scopes ({', '.join(scopes)})"
                if scope in SCOPES
                else f"limits: unknown scope {scope!r} (known: {', '.join(SCOPES)})"
            )
        parse_limits(text, scope=scope)
        checked[scope] = text.strip()
    return checked


def _check_name(name: str) -> None:
    if _NAME.fullmatch(name) is None:
        raise AccessKeyError(
            f"name: {name!r} must be 1-64 letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit"
        )
    if _KEY_ID.fullmatch(name) is not None:
        raise AccessKeyError(
            f"name: {name!r} looks like a key id; commands take either, so it would be ambiguous"
        )


def _name_taken(name: str, key_id: str) -> AccessKeyError:
    return AccessKeyError(f"name: {name!r} already has an active key ({key_id}); rotate or revoke it first")


@contextmanager
def _transaction(engine: Engine, name: str) -> Iterator[Connection]:
    """A transaction in which the partial unique index on active names may refuse a concurrent creation."""
    try:
        with engine.begin() as connection:
            yield connection
    except IntegrityError:
        raise _name_taken(name, "created meanwhile") from None


def _issue(
    connection: Connection,
    name: str,
    scopes: tuple[str, ...],
    overrides: Mapping[str, str],
    *,
    key_id: str | None = None,
) -> IssuedKey:
    key_id = key_id or secrets.token_hex(6)
    token = f"{TOKEN_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    info = KeyInfo(key_id, name, scopes, dict(overrides), utc_now(), None, None)
    connection.execute(
        API_KEYS.insert().values(
            key_id=key_id,
            name=name,
            scopes=",".join(scopes),
            limits=json.dumps(info.limits, sort_keys=True) if info.limits else None,
            secret_hash=_digest(token),
            created_at=info.created_at,
        )
    )
    return IssuedKey(info, token)


def _active(connection: Connection, key: str) -> KeyInfo:
    """The active key named by its id or its name; never echoes a token given by mistake."""
    if key.startswith(TOKEN_PREFIX):
        raise AccessKeyError("key: give the key id or the name, not the token")
    if _KEY_ID.fullmatch(key) is not None:
        row = connection.execute(_SELECT.where(API_KEYS.c.key_id == key)).first()
        if row is None:
            raise AccessKeyError(f"key: no key with id {key!r}")
        if row.revoked_at is not None:
            successor = f" (replaced by {row.replaced_by})" if row.replaced_by else ""
            raise AccessKeyError(f"key: {key!r} is already revoked{successor}")
    else:
        row = connection.execute(_ACTIVE_BY_NAME, {"name": key}).first()
        if row is None:
            raise AccessKeyError(f"key: no active key with id or name {key!r}")
    return _info(row)


def _revoke(connection: Connection, key: KeyInfo, *, replaced_by: str | None) -> KeyInfo:
    """Revoke ``key`` unless a concurrent command did first (then the operator's view was stale)."""
    now = utc_now()
    done = connection.execute(
        update(API_KEYS)
        .where(API_KEYS.c.key_id == key.key_id, API_KEYS.c.revoked_at.is_(None))
        .values(revoked_at=now, replaced_by=replaced_by)
    )
    if done.rowcount != 1:
        raise AccessKeyError(f"key: {key.key_id!r} was revoked meanwhile")
    return KeyInfo(key.key_id, key.name, key.scopes, key.limits, key.created_at, now, replaced_by)


def _info(row: Row[tuple[object, ...]]) -> KeyInfo:
    return KeyInfo(
        key_id=row.key_id,
        name=row.name,
        scopes=tuple(row.scopes.split(",")),
        limits=json.loads(row.limits) if row.limits else {},
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        replaced_by=row.replaced_by,
    )
