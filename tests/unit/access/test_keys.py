"""API keys: issued once in clear, stored as a hash, verified in constant time, rotated and revoked."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from alphapulse.access import (
    SCOPES,
    TOKEN_PREFIX,
    AccessKeyError,
    InvalidKeyError,
    create_key,
    keys,
    list_keys,
    parse_limits,
    revoke_key,
    rotate_key,
    temporary_key,
    verify_key,
)
from alphapulse.store import API_KEYS, make_engine, upgrade


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'keys.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def test_a_created_key_verifies_with_its_token_and_nothing_else(store: Engine) -> None:
    issued = create_key(store, "acme", ["predict", "signal", "signal"], {"predict": "100/second;5000/day"})
    assert issued.token.startswith(f"{TOKEN_PREFIX}{issued.info.key_id}_")
    assert issued.info.scopes == ("predict", "signal")
    assert issued.info.limits == {"predict": "100/second;5000/day"}
    verified = verify_key(store, issued.token)
    assert verified == issued.info
    assert verified.allows("signal")
    assert not verified.allows("admin")
    with pytest.raises(AccessKeyError, match="scope: unknown 'sgnal'"):
        verified.allows("sgnal")


def test_the_token_is_never_stored(store: Engine, tmp_path: Path) -> None:
    issued = create_key(store, "acme", ["signal"])
    secret = issued.token.rsplit("_", 1)[-1]
    store.dispose()
    stored = (tmp_path / "keys.db").read_bytes()
    assert issued.token.encode() not in stored
    assert secret.encode() not in stored
    with store.connect() as connection:
        row = connection.execute(select(API_KEYS)).one()
    assert row.secret_hash != issued.token
    assert len(row.secret_hash) == 64


def _bad_tokens(token: str) -> dict[str, str]:
    prefix, key_id, secret = token.split("_", 2)
    wrong = ("A" if secret[0] != "A" else "B") + secret[1:]
    return {
        "wrong secret": f"{prefix}_{key_id}_{wrong}",
        "unknown id": f"{prefix}_{'0' * 12 if key_id != '0' * 12 else '1' * 12}_{secret}",
        "malformed": token.replace("_", "-", 1),
        "truncated": token[:-1],
        "over-long": token + "x" * 200,
        "empty": "",
    }


@pytest.mark.parametrize(
    "case", ["wrong secret", "unknown id", "malformed", "truncated", "over-long", "empty"]
)
def test_a_bad_token_is_refused_without_echoing_it(store: Engine, case: str) -> None:
    issued = create_key(store, "acme", ["signal"])
    presented = _bad_tokens(issued.token)[case]
    with pytest.raises(InvalidKeyError) as raised:
        verify_key(store, presented)
    message = str(raised.value)
    secret = issued.token.rsplit("_", 1)[-1]
    for leaked in (issued.token, secret, presented.rsplit("_", 1)[-1] if presented else secret):
        assert leaked not in message
    assert isinstance(raised.value, PermissionError)


def test_the_digests_are_compared_in_constant_time(store: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    issued = create_key(store, "acme", ["signal"])
    calls: list[tuple[str, str]] = []
    real = keys.secrets.compare_digest

    def recording(a: str, b: str) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(keys.secrets, "compare_digest", recording)
    verify_key(store, issued.token)
    with pytest.raises(InvalidKeyError):
        verify_key(store, _bad_tokens(issued.token)["wrong secret"])
    assert len(calls) == 2
    assert all(len(a) == len(b) == 64 for a, b in calls)


def test_rotation_revokes_the_old_key_and_keeps_name_scopes_and_limits(store: Engine) -> None:
    old = create_key(store, "acme", ["predict"], {"predict": "5/second"})
    new = rotate_key(store, "acme")
    assert (new.info.name, new.info.scopes, new.info.limits) == (
        "acme",
        ("predict",),
        {"predict": "5/second"},
    )
    assert new.info.key_id != old.info.key_id
    assert verify_key(store, new.token).key_id == new.info.key_id
    with pytest.raises(InvalidKeyError, match="revoked"):
        verify_key(store, old.token)
    (active,) = list_keys(store)
    assert active.key_id == new.info.key_id
    history = list_keys(store, include_revoked=True)
    assert [k.key_id for k in history] == [old.info.key_id, new.info.key_id]
    assert history[0].replaced_by == new.info.key_id
    assert history[0].revoked_at is not None
    newer = rotate_key(store, new.info.key_id)  # by id as well as by name
    assert newer.info.name == "acme"
    with pytest.raises(AccessKeyError, match=f"already revoked \\(replaced by {newer.info.key_id}\\)"):
        rotate_key(store, new.info.key_id)


def test_revoke_by_id_or_name(store: Engine) -> None:
    first = create_key(store, "acme", ["signal"])
    second = create_key(store, "globex", ["models", "admin"])
    assert revoke_key(store, first.info.key_id).revoked_at is not None
    assert revoke_key(store, "globex").key_id == second.info.key_id
    assert list_keys(store) == []
    for token in (first.token, second.token):
        with pytest.raises(InvalidKeyError, match="revoked"):
            verify_key(store, token)
    with pytest.raises(AccessKeyError, match="key: no active key with id or name 'acme'"):
        revoke_key(store, "acme")
    with pytest.raises(AccessKeyError, match="already revoked"):
        revoke_key(store, first.info.key_id)
    with pytest.raises(AccessKeyError, match="key: no key with id '000000000000'"):
        revoke_key(store, "0" * 12)


def test_a_token_given_for_a_key_is_refused_without_echoing_it(store: Engine) -> None:
    issued = create_key(store, "acme", ["signal"])
    with pytest.raises(AccessKeyError) as raised:
        revoke_key(store, issued.token)
    assert issued.token.rsplit("_", 1)[-1] not in str(raised.value)


def test_one_active_key_per_name(store: Engine) -> None:
    first = create_key(store, "acme", ["signal"])
    with pytest.raises(
        AccessKeyError, match=f"name: 'acme' already has an active key \\({first.info.key_id}\\)"
    ):
        create_key(store, "acme", ["predict"])
    revoke_key(store, "acme")
    assert create_key(store, "acme", ["predict"]).info.name == "acme"


def test_the_database_refuses_a_second_active_key_per_name(store: Engine) -> None:
    """Two commands racing past the check still cannot leave a name with two active keys."""
    create_key(store, "acme", ["signal"])
    row = {"key_id": "abcdefabcdef", "name": "acme", "scopes": "signal", "secret_hash": "0" * 64}
    with pytest.raises(IntegrityError), store.begin() as connection:
        connection.execute(API_KEYS.insert().values(**row, created_at=keys.utc_now()))


@pytest.mark.parametrize(
    ("name", "scopes", "limits", "message"),
    [
        ("acme", ["signal", "trade"], None, "scope: unknown 'trade'"),
        ("acme", [], None, "scope: give at least one"),
        ("", ["signal"], None, "name: ''"),
        ("has space", ["signal"], None, "name: 'has space'"),
        ("x" * 65, ["signal"], None, "name: 'xxx"),
        ("abcdef012345", ["signal"], None, "looks like a key id"),
        (
            "acme",
            ["signal"],
            {"predict": "5/second"},
            "limits: scope 'predict' is not one of the key's scopes",
        ),
        ("acme", ["signal"], {"trade": "5/second"}, "limits: unknown scope 'trade'"),
        ("acme", ["signal"], {"signal": "5 per fortnight"}, "limits for scope 'signal': '5 per fortnight'"),
    ],
)
def test_bad_arguments_name_the_field(
    store: Engine, name: str, scopes: list[str], limits: dict[str, str] | None, message: str
) -> None:
    with pytest.raises(AccessKeyError, match=message.replace("(", "\\(")):
        create_key(store, name, scopes, limits)
    assert list_keys(store, include_revoked=True) == []


def test_parse_limits_reads_the_notation_or_names_the_scope() -> None:
    assert [str(item) for item in parse_limits("100/second;50000/day")] == [
        "100 per 1 second",
        "50000 per 1 day",
    ]
    with pytest.raises(AccessKeyError, match="limits for scope 'predict': 'lots'"):
        parse_limits("lots", scope="predict")
    with pytest.raises(AccessKeyError, match="limits: ''"):
        parse_limits("")


def test_a_temporary_key_is_revoked_however_the_block_ends(store: Engine) -> None:
    seen: list[str] = []

    def failing_smoke_test() -> None:
        with temporary_key(store, "rollout-smoke", ["signal"]) as issued:
            seen.append(issued.token)
            assert verify_key(store, issued.token).name == "rollout-smoke"
            raise RuntimeError("smoke test failed")

    with pytest.raises(RuntimeError):
        failing_smoke_test()
    with pytest.raises(InvalidKeyError, match="revoked"):
        verify_key(store, seen[0])
    with temporary_key(store, "rollout-smoke", SCOPES) as again:
        assert verify_key(store, again.token).scopes == tuple(sorted(SCOPES))
    assert list_keys(store) == []


def test_the_access_package_stays_under_the_service() -> None:
    """The service imports it: it must not pull the pipeline, the command line or the service back in."""
    code = (
        "import sys, alphapulse.access; "
        "print(sorted(m for m in sys.modules if m.startswith(('alphapulse.serving', 'alphapulse.cli', "
        "'alphapulse.pipeline'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_rotation_and_the_one_active_key_rule_hold_on_both_backends(engine: Engine) -> None:
    old = create_key(engine, "acme", ["signal"], {"signal": "1/second"})
    new = rotate_key(engine, "acme")
    assert verify_key(engine, new.token) == new.info
    with pytest.raises(InvalidKeyError, match="revoked"):
        verify_key(engine, old.token)
    row = {"key_id": "abcdefabcdef", "name": "acme", "scopes": "signal", "secret_hash": "0" * 64}
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(API_KEYS.insert().values(**row, created_at=keys.utc_now()))
