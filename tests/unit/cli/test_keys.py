"""``alphapulse keys``: create, list, rotate, revoke; the token printed once, bad input refused in one line."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from alphapulse.access import verify_key
from alphapulse.cli import app
from alphapulse.store import ensure_schema

runner = CliRunner()


def _json(*args: str) -> Any:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_create_list_rotate_revoke_as_json() -> None:
    created = _json(
        "keys",
        "create",
        "acme",
        "--scope",
        "signal",
        "--scope",
        "predict",
        "--limit",
        "predict=100/second;5000/day",
    )
    assert set(created) == {"key_id", "name", "scopes", "limits", "token"}
    assert created["scopes"] == ["predict", "signal"]
    assert created["limits"] == {"predict": "100/second;5000/day"}
    assert verify_key(ensure_schema(), created["token"]).name == "acme"

    listed = _json("keys", "list")
    assert [k["key_id"] for k in listed] == [created["key_id"]]
    assert created["token"] not in json.dumps(listed)
    assert "secret_hash" not in listed[0]

    rotated = _json("keys", "rotate", "acme")
    assert rotated["key_id"] != created["key_id"]
    assert (rotated["name"], rotated["scopes"], rotated["limits"]) == (
        "acme",
        created["scopes"],
        created["limits"],
    )

    revoked = _json("keys", "revoke", rotated["key_id"])
    assert revoked["revoked_at"] is not None
    assert _json("keys", "list") == []
    history = _json("keys", "list", "--all")
    assert [(k["key_id"], k["replaced_by"]) for k in history] == [
        (created["key_id"], rotated["key_id"]),
        (rotated["key_id"], None),
    ]


def test_create_prints_the_token_once_with_a_warning() -> None:
    result = runner.invoke(app, ["keys", "create", "acme", "--scope", "signal"])
    assert result.exit_code == 0, result.output
    (token,) = [line for line in result.stdout.splitlines() if line.startswith("ap_")]
    assert "shown only now" in result.stderr
    listing = runner.invoke(app, ["keys", "list", "--all"])
    assert listing.exit_code == 0
    assert "acme" in listing.output
    assert token not in listing.output
    assert token.rsplit("_", 1)[-1] not in listing.output


def test_bad_input_is_one_line_naming_the_field() -> None:
    assert runner.invoke(app, ["keys", "create", "acme", "--scope", "signal"]).exit_code == 0
    cases = {
        ("keys", "create", "other", "--scope", "trade"): "scope: unknown 'trade'",
        ("keys", "create", "acme", "--scope", "signal"): "name: 'acme' already has an active key",
        (
            "keys",
            "create",
            "other",
            "--scope",
            "signal",
            "--limit",
            "signal",
        ): "limit: 'signal' is not SCOPE=LIMITS",
        (
            "keys",
            "create",
            "other",
            "--scope",
            "signal",
            "--limit",
            "signal=lots",
        ): "limits for scope 'signal'",
        ("keys", "rotate", "nobody"): "key: no active key with id or name 'nobody'",
        ("keys", "revoke", "000000000000"): "key: no key with id '000000000000'",
    }
    for args, message in cases.items():
        result = runner.invoke(app, list(args))
        assert result.exit_code == 1, (args, result.output)
        assert message in " ".join(result.output.split()), (args, result.output)
        assert "Traceback" not in result.output
    assert runner.invoke(app, ["keys", "create", "other"]).exit_code == 2  # --scope is required
