"""The local Prefect API is started and awaited by AlphaPulse; too short a wait fails naming the setting."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest
from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

from alphapulse.settings import Settings
from flows.local_api import LocalApiError, start_local_api


def uvicorn_children() -> set[int]:
    return {
        child.pid
        for child in psutil.Process().children(recursive=True)
        if "prefect.server.api.server:create_app" in " ".join(child.cmdline())
    }


def test_too_short_a_wait_names_the_setting_and_leaves_no_server(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, prefect_startup_timeout_seconds=1)
    before = uvicorn_children()
    with (
        temporary_settings(updates={PREFECT_HOME: str(tmp_path / "prefect")}),
        pytest.raises(LocalApiError) as raised,
    ):
        start_local_api(settings)
    message = str(raised.value)
    assert "ALPHAPULSE_PREFECT_STARTUP_TIMEOUT_SECONDS=1 s" in message
    assert f"PREFECT_HOME={tmp_path / 'prefect'}" in message
    assert "PREFECT_API_URL" in message
    assert "\n" not in message
    assert uvicorn_children() - before == set()


def test_a_configured_server_is_used_as_it_is(tmp_path: Path) -> None:
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        assert start_local_api(Settings(home=tmp_path)) is None
