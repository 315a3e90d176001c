from __future__ import annotations

import gzip
import json
import logging
from datetime import UTC, datetime
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from alphapulse.cli import app
from alphapulse.console import machine_readable
from alphapulse.settings import get_settings
from alphapulse.store import current_revision, head_revision, make_engine

runner = CliRunner()


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("run", "db", "version"):
        assert command in result.output


def test_db_upgrade_creates_the_schema(isolated_home: Path) -> None:
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert (isolated_home / "alphapulse.db").exists()
    assert current_revision(make_engine()) == head_revision()
    current = runner.invoke(app, ["db", "current"])
    assert f"database: {head_revision()}" in current.output


REPO = Path(__file__).resolve().parents[2]


def test_ingest_csv_then_quality_report() -> None:
    csv_path = REPO / "src/alphapulse/data/ohlcv/binance_btcusdt_1h_2020-10_2025-10.csv.gz"
    result = runner.invoke(app, ["ingest", "candles", "--csv", str(csv_path), "--symbol", "BTC/USDT"])
    assert result.exit_code == 0, result.output
    assert "43,780" in result.output
    report = runner.invoke(app, ["quality", "report", "--details"])
    assert report.exit_code == 0
    assert "gap" in report.output
    assert "10 finding(s)" in report.output
    assert "4 missing bar(s)" in report.output


def test_ingest_unknown_csv_form_fails_clearly(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    result = runner.invoke(app, ["ingest", "candles", "--csv", str(bad)])
    assert result.exit_code == 1
    assert "accepted forms" in " ".join(result.output.split())


def test_ingest_news_good_and_malformed(tmp_path: Path) -> None:
    broken = tmp_path / "broken.rss"
    broken.write_text("<rss><channel><item><title>x")
    feed = REPO / "tests/fixtures/rss/decrypt.rss"
    result = runner.invoke(app, ["ingest", "news", "--feed", str(feed), "--feed", str(broken)])
    assert result.exit_code == 1
    assert "not a well-formed" in result.output
    assert "58" in result.output


def test_features_build_prints_the_version_and_materializes(isolated_home: Path) -> None:
    csv_path = REPO / "src/alphapulse/data/ohlcv/binance_btcusdt_1h_2020-10_2025-10.csv.gz"
    assert runner.invoke(app, ["ingest", "candles", "--csv", str(csv_path)]).exit_code == 0
    result = runner.invoke(app, ["features", "build", "--symbol", "BTC/USDT"])
    assert result.exit_code == 0, result.output
    assert "43,780" in result.output
    assert "402" in result.output  # warm-up bars of the shipped indicator set
    assert list((isolated_home / "data" / "features").rglob("*.parquet"))


def test_features_build_without_data_says_what_to_do() -> None:
    result = runner.invoke(app, ["features", "build"])
    assert result.exit_code == 1
    assert "alphapulse ingest" in result.output


FIXTURES = REPO / "tests/fixtures/csv"


def test_ingest_import_errors_are_one_clear_line(tmp_path: Path) -> None:
    truncated = tmp_path / "Binance_BTCUSDT_1h.csv.gz"
    truncated.write_bytes(gzip.compress((FIXTURES / "cdd_binance_btcusdt_1h_2021.csv").read_bytes())[:900])
    short = tmp_path / "BTCUSDT-1m-2021-01.csv"
    lines = (FIXTURES / "binance_vision_btcusdt_um_1m_2021-01.csv").read_text().splitlines()
    short.write_text("\n".join(["", *lines[:3], lines[3][:30], *lines[4:]]) + "\n")
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes((FIXTURES / "cdd_binance_btcusdt_1h_2021.csv").read_text().encode("utf-16"))
    for arguments, expected in (
        (["--csv", str(truncated)], "truncated gzip file"),
        (["--csv", str(short), "--timeframe", "1m", "--strict"], "line 5: low (column 4): short line"),
        (["--csv", str(tmp_path / "missing.csv")], "missing.csv: no such file"),
    ):
        result = runner.invoke(app, ["ingest", "candles", *arguments])
        assert result.exit_code == (2 if "missing" in arguments[1] else 1), result.output
        output = " ".join(result.output.split())
        assert expected in output
        assert "Traceback" not in output
    assert runner.invoke(app, ["ingest", "candles", "--csv", str(utf16)]).exit_code == 0
    lenient = runner.invoke(app, ["ingest", "candles", "--csv", str(short), "--timeframe", "1m"])
    assert lenient.exit_code == 0, lenient.output
    assert "candles:binance:BTC/USDT:1m │ 25 │ 24 │" in " ".join(lenient.output.split())


def test_ingest_reimport_conflict_then_correct(tmp_path: Path) -> None:
    original = FIXTURES / "cdd_binance_btcusdt_1h_2021.csv"
    assert runner.invoke(app, ["ingest", "candles", "--csv", str(original)]).exit_code == 0
    changed = tmp_path / "changed.csv"
    changed.write_text(original.read_text().replace("37584.76000000", "37584.77000000"))
    refused = runner.invoke(app, ["ingest", "candles", "--csv", str(changed)])
    assert refused.exit_code == 0, refused.output
    assert "1 bar(s) differ from the stored ones and were quarantined" in " ".join(refused.output.split())
    applied = runner.invoke(app, ["ingest", "candles", "--csv", str(changed), "--correct"])
    assert "1 stored bar(s) corrected; old values kept in candle_corrections" in " ".join(
        applied.output.split()
    )


def one_line_error(result: Result) -> str:
    """The error output of a refused command: one line, no traceback."""
    text = result.stderr.strip()
    assert "Traceback" not in result.output
    assert len(text.splitlines()) == 1, text
    return text


def test_version_option_prints_the_installed_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"alphapulse {version('alphapulse')}"


def test_a_bad_setting_is_one_line_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALPHAPULSE_TIMEFRAME", "1hour")
    get_settings.cache_clear()
    result = runner.invoke(app, ["db", "current"])
    assert result.exit_code == 2
    assert one_line_error(result).startswith("error: ALPHAPULSE_TIMEFRAME='1hour': expected <n><s|m|h|d|w>")


def test_comma_separated_symbols_work_on_the_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALPHAPULSE_SYMBOLS", "BTC/USDT")
    get_settings.cache_clear()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert get_settings().symbols == ["BTC/USDT"]


def test_an_unwritable_home_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "blocker").write_text("")
    monkeypatch.setenv("ALPHAPULSE_HOME", str(tmp_path / "blocker" / "home"))
    get_settings.cache_clear()
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 2
    assert one_line_error(result).startswith(f"error: ALPHAPULSE_HOME={tmp_path / 'blocker' / 'home'}: ")


def test_an_unreachable_database_names_the_masked_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALPHAPULSE_DATABASE_URL", "postgresql+psycopg://app:s3cret@127.0.0.1:9/none")
    get_settings.cache_clear()
    result = runner.invoke(app, ["db", "current"])
    assert result.exit_code == 1
    line = one_line_error(result)
    assert line.startswith("error: database postgresql+psycopg://app:***@127.0.0.1:9/none")
    assert "ALPHAPULSE_DATABASE_URL" in line
    assert "s3cret" not in result.output


@pytest.mark.parametrize("command", ["run", "train"])
def test_an_unknown_profile_is_refused_with_the_choices(command: str) -> None:
    result = runner.invoke(app, [command, "--profile", "medium"])
    assert result.exit_code == 2
    message = " ".join(result.stderr.split())
    assert "'medium' is not one of" in message
    assert "'fast'" in message
    assert "'full'" in message


def test_log_level_configures_alphapulse_logging(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALPHAPULSE_LOG_LEVEL", "warning")
    get_settings.cache_clear()
    assert runner.invoke(app, ["db", "current"]).exit_code == 0
    logger = logging.getLogger("alphapulse.serving.runtime")
    assert logger.getEffectiveLevel() == logging.WARNING
    assert not logger.isEnabledFor(logging.INFO)
    monkeypatch.setenv("ALPHAPULSE_LOG_LEVEL", "DEBUG")
    get_settings.cache_clear()
    assert runner.invoke(app, ["db", "current"]).exit_code == 0
    assert logger.isEnabledFor(logging.DEBUG)


def test_quality_report_json_is_the_only_stdout() -> None:
    csv_path = REPO / "src/alphapulse/data/ohlcv/binance_btcusdt_1h_2020-10_2025-10.csv.gz"
    assert runner.invoke(app, ["ingest", "candles", "--csv", str(csv_path)]).exit_code == 0
    result = runner.invoke(app, ["quality", "report", "--json", "--details"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["findings"] == 10
    assert sum(row["count"] for row in report["summary"]) == 10
    assert {row["check"] for row in report["summary"]} >= {"gap"}
    assert len(report["details"]) == 10
    assert all(isinstance(detail["ingested_at"], str) for detail in report["details"])


def test_model_list_json_without_versions() -> None:
    result = runner.invoke(app, ["model", "list", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "registered_model": "alphapulse-btc-usdt-1h",
        "tracking_uri": get_settings().mlflow_tracking_uri,
        "versions": [],
    }


def test_machine_readable_keeps_money_exact() -> None:
    document = machine_readable(
        {"close": Decimal("11353.86000000"), "at": datetime(2024, 1, 1, tzinfo=UTC), "nan": float("nan")}
    )
    assert document == {"close": "11353.86000000", "at": "2024-01-01T00:00:00+00:00", "nan": None}


def test_a_timeframe_option_is_checked_before_any_work() -> None:
    result = runner.invoke(app, ["features", "build", "--timeframe", "1hour"])
    assert result.exit_code == 2
    message = "".join(result.stderr.replace("│", "").split())  # typer's error box, unwrapped
    assert "'1hour':expected<n><s|m|h|d|w>,oneofe.g.1m,5m,15m,30m,1h,4h,1d,1w" in message
