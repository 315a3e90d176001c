from __future__ import annotations

import gzip
from pathlib import Path

from typer.testing import CliRunner

from alphapulse.cli import app
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
