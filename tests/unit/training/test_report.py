"""The trader's report: readable tables (formatted, never too wide), every section with its figures inline,
trading figures a trader can check by hand, the Markdown digest, and the Prefect artifact built from it."""

from __future__ import annotations

import base64
import math
import re
from html.parser import HTMLParser

import mlflow
import numpy as np
import pandas as pd
import pytest

from alphapulse import decisions
from alphapulse.decisions import DecisionRule
from alphapulse.pipeline.artifacts import artifact_key, training_artifact
from alphapulse.settings import Settings, get_settings
from alphapulse.training import report, runlog, tracking
from alphapulse.training.dataset import FloatArray
from alphapulse.training.evaluation import SUMMARY_COLUMNS, Evaluation, Kind, Track, Versus, summary_frame
from alphapulse.training.gate import GateDecision
from alphapulse.training.train import TrainingReport

BARS_PER_YEAR = 8766.0
REASONS = ("gate: refused", "model_b does not beat always_long on accuracy: 0.5100 vs 0.5200")
SECTIONS = (
    "Gate decision",
    "Summary",
    "Equity and drawdown",
    "Returns and risk",
    "Trading activity",
    "Monthly returns",
    "Classification",
    "Decisions on the price",
)


def _track(name: str, kind: Kind, proba: FloatArray, next_return: FloatArray, rule: DecisionRule) -> Track:
    n = len(proba)
    open_time = pd.date_range("2024-12-20", periods=n, freq="h", tz="UTC")
    abstain = np.full(n, 0.02 if kind == "model" else 0.0)
    position = decisions.positions(rule, proba, abstain)
    return Track(
        name=name,
        kind=kind,
        open_time=open_time,
        close=30_000 * np.exp(np.cumsum(next_return)),
        y=(next_return > 0).astype(np.float64),
        proba=proba,
        abstain=abstain,
        position=position,
        turnover=decisions.turnover(position),
        net_return=decisions.net_returns(position, next_return, 0.001),
        market_return=np.expm1(next_return),
    )


@pytest.fixture(scope="module")
def tracks() -> list[Track]:
    """Three baselines and two models over 500 hourly bars spanning a new year."""
    rng = np.random.default_rng(7)
    n = 500
    next_return = rng.normal(0.0, 0.004, n)
    up = (next_return > 0).astype(np.float64)
    rule = DecisionRule(mode="long_short")
    return [
        _track("always_long", "baseline", np.ones(n), next_return, rule),
        _track("persistence", "baseline", np.r_[0.5, up[:-1]], next_return, rule),
        _track("random", "baseline", rng.random(n), next_return, rule),
        _track(
            "model_a",
            "model",
            np.clip(0.5 + 0.1 * (up - 0.5) + rng.normal(0, 0.1, n), 0, 1),
            next_return,
            rule,
        ),
        _track("model_b", "model", np.clip(0.5 + rng.normal(0, 0.1, n), 0, 1), next_return, rule),
    ]


@pytest.fixture(scope="module")
def summary(tracks: list[Track]) -> pd.DataFrame:
    """The real summary table's layout, filled with unrounded figures (and an undefined AUC)."""
    rng = np.random.default_rng(3)
    evaluations = {}
    for item in tracks:
        overall = {column: float(rng.random()) + 0.123456789 for column in SUMMARY_COLUMNS}
        overall["roc_auc"] = math.nan if item.kind == "baseline" else overall["roc_auc"]
        versus = Versus("always_long", 0.0123456789, 0.0456789123) if item.kind == "model" else None
        evaluations[item.name] = Evaluation(
            item.name,
            item.kind,
            pd.DataFrame(),
            overall,
            {"accuracy": (0.4123456789, 0.6123456789), "sharpe": (-1.123456789, 2.123456789)},
            versus,
        )
    return summary_frame(evaluations)


@pytest.fixture(scope="module")
def page(tracks: list[Track], summary: pd.DataFrame) -> str:
    return report.html(
        "BTC/USDT 1h: out-of-sample evaluation (fast)", tracks, summary, REASONS, BARS_PER_YEAR
    )


class _Tables(HTMLParser):
    """Each table's header width, whether it sits in a scrolling box, and every image source."""

    def __init__(self) -> None:
        super().__init__()
        self.widths: list[int] = []
        self.scrolling: list[bool] = []
        self.images: list[str] = []
        self._divs: list[str] = []
        self._row: int | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "div":
            self._divs.append(attributes.get("class") or "")
        elif tag == "table":
            self.scrolling.append(bool(self._divs) and self._divs[-1] == "scroll")
            self._row = 0
        elif tag == "tr" and self._row is not None:
            self._row += 1
            if self._row == 1:
                self.widths.append(0)
        elif tag in ("th", "td") and self._row == 1:
            self.widths[-1] += 1
        elif tag == "img":
            self.images.append(attributes.get("src") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "div":
            self._divs.pop()
        elif tag == "table":
            self._row = None


def _text(page: str) -> str:
    """What a reader sees: no style sheet, no inlined image data."""
    without_images = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", page)
    return re.sub(r"<style>.*?</style>", "", without_images, flags=re.DOTALL)


def test_the_page_has_every_section_and_the_gates_reasons(page: str) -> None:
    for heading in SECTIONS:
        assert f"<h2>{heading}</h2>" in page
    for reason in REASONS:
        assert f"<li>{reason}</li>" in page
    for name in ("model_a", "model_b", "always_long", "buy-and-hold"):
        assert name in page


def test_no_table_is_wider_than_the_limit_and_each_scrolls(page: str) -> None:
    tables = _Tables()
    tables.feed(page)
    assert len(tables.widths) == 7  # classification, versus, risk, activity, three monthly
    assert max(tables.widths) <= report.MAX_COLUMNS
    assert all(tables.scrolling)


def test_numbers_are_formatted_never_raw(page: str) -> None:
    text = _text(page)
    assert not re.search(r"\d\.\d{5,}", text)
    assert "0.123456789" not in text
    assert report.MISSING in text  # the undefined AUC of a baseline


def test_figures_are_inline_pngs(page: str) -> None:
    tables = _Tables()
    tables.feed(page)
    assert len(tables.images) == 4
    for source in tables.images:
        assert source.startswith("data:image/png;base64,")
        assert base64.b64decode(source.removeprefix("data:image/png;base64,")).startswith(b"\x89PNG")


def test_a_wide_table_is_split_into_tables_within_the_limit() -> None:
    headers = [f"c{i}" for i in range(25)]
    tables = _Tables()
    tables.feed(report.table("row", headers, [("r", [str(i) for i in range(25)])]))
    assert tables.widths == [10, 10, 8]
    assert all(tables.scrolling)


def test_trading_figures_of_a_position_sequence_checked_by_hand() -> None:
    position = np.array([0, 1, 1, -1, -1, 0, 1, 1], dtype=np.float64)
    market = np.array([0.01, 0.02, -0.01, -0.03, 0.01, 0.05, -0.02, 0.01])
    net = position * market
    n = len(position)
    item = Track(
        "hand", "model", pd.date_range("2025-01-01", periods=n, freq="h", tz="UTC"), np.ones(n),
        np.zeros(n), np.full(n, 0.5), np.zeros(n), position, decisions.turnover(position), net, market,
    )  # fmt: skip
    figures = report.trading_figures(item, bars_per_year=8.0)
    # Units traded: 0, 1, 0, 2 (a flip), 0, 1, 1, 0 -> 5 over 8 bars, 8 bars a year.
    assert figures["turnover"] == pytest.approx(5.0)
    assert figures["trades"] == 4
    assert figures["exposure"] == pytest.approx(6 / 8)
    # In a position: (+,+) (+,-) (-,-) (-,+) (+,-) (+,+) -> 3 of 6 right.
    assert figures["hit_rate"] == pytest.approx(0.5)
    equity = np.cumprod(1 + net)
    assert figures["net_return"] == pytest.approx(equity[-1] - 1)
    assert figures["max_drawdown"] == pytest.approx(equity[6] / equity[3] - 1)
    assert figures["sharpe"] == pytest.approx(net.mean() / net.std(ddof=1) * math.sqrt(8.0))


def test_quantstats_agrees_with_the_gates_figures_on_hourly_utc_bars(tracks: list[Track]) -> None:
    for item in tracks:
        ours = report.trading_figures(item, BARS_PER_YEAR)
        theirs = report.risk_figures(pd.Series(item.net_return, index=item.open_time), BARS_PER_YEAR)
        for key in ("net_return", "sharpe", "max_drawdown"):
            assert theirs[key] == pytest.approx(ours[key], rel=1e-9), (item.name, key)
        assert theirs["volatility"] == pytest.approx(item.net_return.std(ddof=1) * math.sqrt(BARS_PER_YEAR))


def test_monthly_returns_compound_within_a_month_and_leave_other_months_empty() -> None:
    times = pd.DatetimeIndex(["2024-12-31 22:00", "2024-12-31 23:00", "2025-01-01 00:00"], tz="UTC")
    table = report.monthly_returns(pd.Series([0.1, 0.1, -0.5], index=times))
    assert list(table.columns) == [2024, 2025]
    assert table.loc["Dec", 2024] == pytest.approx(0.21)
    assert table.loc["Jan", 2025] == pytest.approx(-0.5)
    assert table.loc["Year", 2024] == pytest.approx(0.21)
    assert np.isnan(table.loc["Jan", 2024])
    assert np.isnan(table.loc["Feb", 2025])


def test_the_markdown_has_a_row_per_predictor_the_decision_and_the_link(summary: pd.DataFrame) -> None:
    text = report.markdown(summary, REASONS, "http://mlflow:5000/#/runs/abc")
    rows = [
        line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| predictor")
    ]
    assert [row.split(" | ")[0].removeprefix("| ") for row in rows] == list(summary.index)
    assert all(len(row.split(" | ")) == 9 for row in rows)
    assert f"- {REASONS[1]}" in text
    assert "[MLflow run](http://mlflow:5000/#/runs/abc)" in text
    assert not re.search(r"\d\.\d{5,}", text)
    assert "MLflow run" not in report.markdown(summary, REASONS, None)


@pytest.mark.parametrize(
    ("uri", "url"),
    [
        ("http://mlflow:5000", "http://mlflow:5000/#/runs/r1"),
        ("https://user:secret@ml.example.com/mlflow/", "https://ml.example.com/mlflow/#/runs/r1"),
        ("sqlite:///tmp/mlflow.db", None),
        ("/srv/mlruns", None),
    ],
)
def test_the_run_link_needs_a_server_and_drops_credentials(uri: str, url: str | None) -> None:
    assert report.run_url(uri, "r1") == url


def _trained(summary: pd.DataFrame, tracks: list[Track]) -> TrainingReport:
    evaluations = {
        name: Evaluation(name, row["kind"], pd.DataFrame(), row.to_dict(), {}, None)
        for name, row in summary.iterrows()
    }
    decision = GateDecision(
        False, REASONS[1:], (), ("2025-01-01T00:00:00+00:00", "2025-01-09T00:00:00+00:00")
    )
    return TrainingReport(
        registered_model="alphapulse-btc-usdt-1h", symbol="BTC/USDT", timeframe="1h", profile="fast",
        feature_version="f" * 64, data_start="2024-12-20", data_end="2025-01-09", rows=len(tracks[0].y),
        evaluations=evaluations, challenger="model_a", version="3", decision=decision, champion="2", run_id="r1",
    )  # fmt: skip


def test_the_training_artifact_links_to_the_run_when_mlflow_is_served(
    summary: pd.DataFrame, tracks: list[Track]
) -> None:
    artifact = training_artifact(
        _trained(summary, tracks), Settings(mlflow_tracking_uri="http://mlflow:5000")
    )
    assert artifact.key == "alphapulse-btc-usdt-1h-training"
    assert artifact.description == "alphapulse-btc-usdt-1h: gate: refused"
    assert artifact.markdown.startswith("## alphapulse-btc-usdt-1h: training (fast)")
    assert "[MLflow run](http://mlflow:5000/#/runs/r1)" in artifact.markdown
    assert sum(line.startswith("| model_") for line in artifact.markdown.splitlines()) == 2


def test_without_a_server_the_artifact_names_the_run(summary: pd.DataFrame, tracks: list[Track]) -> None:
    artifact = training_artifact(_trained(summary, tracks), get_settings())
    assert "MLflow run `r1`" in artifact.markdown
    assert "](" not in artifact.markdown


@pytest.mark.parametrize("name", ["alphapulse-btc-usdt-1h", "AlphaPulse ETH/USDT 1M", "--x__y--"])
def test_artifact_keys_are_lowercase_letters_digits_and_dashes(name: str) -> None:
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", artifact_key(name))


@pytest.mark.slow
def test_log_report_writes_the_report_its_figures_and_the_digest(
    tracks: list[Track], summary: pd.DataFrame
) -> None:
    client = tracking.client(get_settings())
    decision = GateDecision(False, REASONS[1:], (), ("a", "b"))
    with mlflow.start_run(experiment_id=tracking.experiment_id(client, "report")) as run:
        runlog.log_report("title", tracks, summary, decision, BARS_PER_YEAR)
    logged = {item.path for item in client.list_artifacts(run.info.run_id)}
    assert logged == {
        "evaluation_report.html",
        "evaluation_summary.csv",
        "evaluation_summary.md",
        "gate_decision.json",
        "equity_drawdown.png",
        "decisions.png",
        "confusion.png",
        "roc_calibration.png",
    }
