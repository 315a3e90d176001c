"""Bad ALPHAPULSE_* values end in one line naming the variable, the value and what is expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from alphapulse.settings import Settings, SettingsError, get_settings, load_settings


def error_of(monkeypatch: pytest.MonkeyPatch, **variables: str) -> str:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    message = str(raised.value)
    assert "\n" not in message
    assert "pydantic" not in message.lower()
    return message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("BTC/USDT", ["BTC/USDT"]),
        ("BTC/USDT,ETH/USDT", ["BTC/USDT", "ETH/USDT"]),
        (" BTC/USDT , ETH/USDT ,", ["BTC/USDT", "ETH/USDT"]),
        ('["BTC/USDT", "SOL/USDT"]', ["BTC/USDT", "SOL/USDT"]),
    ],
)
def test_symbols_accept_comma_separated_and_json(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: list[str]
) -> None:
    monkeypatch.setenv("ALPHAPULSE_SYMBOLS", value)
    assert load_settings().symbols == expected


def test_news_feeds_accept_a_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALPHAPULSE_NEWS_FEEDS", "https://a.example/rss,feeds/b.xml")
    assert load_settings().news_feeds == ["https://a.example/rss", "feeds/b.xml"]


def test_a_broken_json_list_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    message = error_of(monkeypatch, ALPHAPULSE_SYMBOLS='["BTC/USDT"')
    assert message.startswith("ALPHAPULSE_SYMBOLS='[\"BTC/USDT\"': not a valid JSON list")


def test_an_empty_symbol_list_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    assert error_of(monkeypatch, ALPHAPULSE_SYMBOLS=" , ").startswith("ALPHAPULSE_SYMBOLS=")


def test_timeframe_is_validated_with_the_allowed_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    message = error_of(monkeypatch, ALPHAPULSE_TIMEFRAME="1hour")
    assert message == (
        "ALPHAPULSE_TIMEFRAME='1hour': expected <n><s|m|h|d|w>, one of e.g. 1m, 5m, 15m, 30m, 1h, 4h, 1d, 1w"
    )
    monkeypatch.setenv("ALPHAPULSE_TIMEFRAME", "4h")
    assert load_settings().timeframe == "4h"


def test_log_level_any_case_and_refused_with_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALPHAPULSE_LOG_LEVEL", "debug")
    settings = load_settings()
    assert settings.log_level == "DEBUG"
    assert settings.tool_environment()["PREFECT_LOGGING_LEVEL"] == "DEBUG"
    message = error_of(monkeypatch, ALPHAPULSE_LOG_LEVEL="loud")
    assert message.startswith("ALPHAPULSE_LOG_LEVEL='LOUD': ")
    for level in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        assert level in message


def test_several_errors_in_one_line_without_knock_on_noise(monkeypatch: pytest.MonkeyPatch) -> None:
    message = error_of(monkeypatch, ALPHAPULSE_TIMEFRAME="1hour", ALPHAPULSE_DRIFT_RECENT_BARS="three")
    assert "ALPHAPULSE_TIMEFRAME='1hour'" in message
    assert "ALPHAPULSE_DRIFT_RECENT_BARS='three': Input should be a valid integer" in message
    assert "default factory" not in message  # derived fields are not reported as errors of their own


def test_a_home_that_is_a_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "file").write_text("")
    message = error_of(monkeypatch, ALPHAPULSE_HOME=str(tmp_path / "file"))
    assert message == f"ALPHAPULSE_HOME='{tmp_path / 'file'}': expected a folder (it is a file)"


def test_a_home_that_cannot_be_created_is_named(tmp_path: Path) -> None:
    blocked = tmp_path / "blocker"
    blocked.write_text("")
    settings = Settings(home=tmp_path / "ok", data_dir=blocked / "data")
    with pytest.raises(SettingsError, match=r"^ALPHAPULSE_DATA_DIR=.*blocker/data: cannot create .*"):
        settings.ensure_dirs()
    beneath_a_file = Settings(home=blocked / "home")
    with pytest.raises(SettingsError, match=r"^ALPHAPULSE_HOME=.*expected a folder that can be created"):
        beneath_a_file.apply_tool_environment()


def test_where_state_lives_masks_the_password(monkeypatch: pytest.MonkeyPatch, isolated_home: Path) -> None:
    monkeypatch.setenv("ALPHAPULSE_DATABASE_URL", "postgresql+psycopg://app:s3cret@db:5432/alphapulse")
    get_settings.cache_clear()
    described = dict(get_settings().describe())
    assert described == {
        "home": str(isolated_home.resolve()),
        "database": "postgresql+psycopg://app:***@db:5432/alphapulse",
        "tracking": f"sqlite:///{isolated_home / 'mlflow.db'}",
    }


def test_the_prefect_startup_wait_is_passed_to_prefect(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().tool_environment()["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] == "120"
    monkeypatch.setenv("ALPHAPULSE_PREFECT_STARTUP_TIMEOUT_SECONDS", "300")
    assert load_settings().tool_environment()["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] == "300"
    message = error_of(monkeypatch, ALPHAPULSE_PREFECT_STARTUP_TIMEOUT_SECONDS="0")
    assert message.startswith("ALPHAPULSE_PREFECT_STARTUP_TIMEOUT_SECONDS='0': Input should be greater")


def test_request_limits_are_checked_where_they_are_set(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not by the first request a worker counts: a typo would otherwise pass every check before it."""
    message = error_of(monkeypatch, ALPHAPULSE_SERVING_KEY_LIMITS='{"signal": "20 per sec"}')
    assert message.startswith("ALPHAPULSE_SERVING_KEY_LIMITS=")
    assert "limits for scope 'signal': '20 per sec' is not `limits` notation" in message
    message = error_of(monkeypatch, ALPHAPULSE_SERVING_KEY_LIMITS='{"sigal": "20/second"}')
    assert "unknown scopes ['sigal']" in message
    monkeypatch.delenv("ALPHAPULSE_SERVING_KEY_LIMITS")
    message = error_of(monkeypatch, ALPHAPULSE_SERVING_AUTH_FAILURE_LIMIT="ten a minute")
    assert message.startswith("ALPHAPULSE_SERVING_AUTH_FAILURE_LIMIT='ten a minute': limits:")
    monkeypatch.setenv("ALPHAPULSE_SERVING_AUTH_FAILURE_LIMIT", "5/minute")
    assert load_settings().serving_auth_failure_limit == "5/minute"


def test_compared_scorers_are_registered_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    message = error_of(monkeypatch, ALPHAPULSE_SERVING_SENTIMENT_SCORERS="vader,finbrt")
    assert message.startswith(
        "ALPHAPULSE_SERVING_SENTIMENT_SCORERS='vader,finbrt': unknown scorers ['finbrt']"
    )
    monkeypatch.setenv("ALPHAPULSE_SERVING_SENTIMENT_SCORERS", "finbert, vader,finbert")
    assert load_settings().serving_sentiment_scorers == ["finbert", "vader"]
