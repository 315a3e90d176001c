"""The trader's report of a training run: one self-contained HTML page (the MLflow run's
``evaluation_report.html``) and a short Markdown digest (the run's ``evaluation_summary.md`` and the Prefect
flow's artifact), built from every predictor's out-of-sample ``Track``.

Statistics. The figures the gate judges on (net return, Sharpe, drawdown, turnover, trades, exposure, hit
rate) are ``metrics.trading``'s, the one implementation evaluation and the gate use, so the report never
disagrees with the gate. CAGR, volatility and Sortino come from ``quantstats.stats`` with ``periods`` set to
the bars per year: measured offline on 9,000 hourly UTC bars it takes ~15 ms a series, and its Sharpe and
drawdown equal ours exactly. It is imported when a report is first drawn, not with this module, because
the import takes seconds (it brings pyplot, seaborn and yfinance), and inside ``matplotlib.rc_context``,
because it applies seaborn's theme to every matplotlib figure of the process. ``quantstats.reports.html``
is not used: it rejects a UTC index beside a benchmark, takes ~10 s per series, draws with pyplot's global
state and writes a 2 MB page. Monthly returns are grouped here rather than by
``quantstats.stats.monthly_returns``, which shows months outside the window as 0 %, flat months that
never happened.

Classifier figures are drawn with scikit-learn and matplotlib, not ``mlflow.models.evaluate``: measured at
4 s for a single predictor, it logs its own metrics into the active (parent) run, and from fixed
predictions it draws only a confusion matrix (its ROC and calibration curves need a model to call).
"""

from __future__ import annotations

import base64
import html as markup
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

import matplotlib
import numpy as np
import pandas as pd

from alphapulse.training import figures, metrics
from alphapulse.training.dataset import FloatArray
from alphapulse.training.evaluation import Track
from alphapulse.training.gate import GateDecision

#: Columns per table, row labels included; wider content is split into several tables.
MAX_COLUMNS = 10
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MISSING = "–"

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1150px;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
h3{font-size:1em;margin-bottom:.3em}p.note{color:#555;font-size:.9em;margin:.3em 0}
.scroll{overflow-x:auto;max-width:100%;margin:.5em 0}.side{display:flex;flex-wrap:wrap;gap:0 2em}
table{border-collapse:collapse;font-size:.85em;font-variant-numeric:tabular-nums}
th,td{border:1px solid #ddd;padding:3px 8px;white-space:nowrap}td{text-align:right}
th{background:#f4f4f4}tbody th{text-align:left}img{max-width:100%;height:auto}
"""


@dataclass(frozen=True)
class Cell:
    text: str
    style: str = ""


Row = tuple[str, Sequence[str | Cell]]


def trading_figures(track: Track, bars_per_year: float) -> dict[str, float]:
    """turnover (units traded per year), trades (bars where the position changed), exposure (share of bars
    with a position), hit_rate (share of those whose sign matched the market move), net_return, sharpe
    (annualised) and max_drawdown of one track: exactly the figures the gate reads."""
    return metrics.trading(track.position, track.net_return, track.market_return, bars_per_year)


def risk_figures(returns: pd.Series, bars_per_year: float) -> dict[str, float]:
    """Return and risk of one per-bar return series, annualised with ``bars_per_year``."""
    with matplotlib.rc_context():  # undoes the seaborn theme its import applies to every figure
        import quantstats.stats as qs  # here, not at the top: its import takes seconds

    periods = cast(int, bars_per_year)  # quantstats annotates an int but annualises with any number
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "net_return": float(qs.comp(returns)),
            "cagr": float(qs.cagr(returns, periods=periods)),
            "volatility": float(qs.volatility(returns, periods=periods)),
            "sharpe": float(qs.sharpe(returns, periods=periods)),
            "sortino": float(qs.sortino(returns, periods=periods)),
            "max_drawdown": float(qs.max_drawdown(returns)),
        }


def monthly_returns(returns: pd.Series) -> pd.DataFrame:
    """Compounded return per calendar month (UTC) as months × years, the last row each year's; months
    outside the window stay empty."""
    when = pd.DatetimeIndex(returns.index)
    growth = 1 + returns
    months = (growth.groupby([when.month, when.year]).prod() - 1).unstack()
    table = months.reindex(range(1, 13))
    table.index = pd.Index(MONTHS)
    table.loc["Year"] = growth.groupby(when.year).prod() - 1
    return table


def gate_lines(decision: GateDecision) -> list[str]:
    """The gate's verdict and its reasons, as the report and the digest list them."""
    return [f"gate: {'promoted' if decision.promote else 'refused'}", *decision.reasons]


def run_url(tracking_uri: str, run_id: str) -> str | None:
    """The run's page in the MLflow UI when tracking goes through a server (which serves the UI too),
    without any credentials the URI carries; a database or file store has no page to link to."""
    parts = urlsplit(tracking_uri)
    if parts.scheme not in ("http", "https"):
        return None
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}{parts.path.rstrip('/')}/#/runs/{run_id}"


def _finite(value: object) -> float | None:
    number = float(value) if isinstance(value, int | float | np.number) else math.nan
    return number if math.isfinite(number) else None


def percent(value: object, digits: int = 2) -> str:
    number = _finite(value)
    return MISSING if number is None else f"{number:.{digits}%}"


def decimal(value: object, digits: int = 2) -> str:
    number = _finite(value)
    return MISSING if number is None else f"{number:,.{digits}f}"


def count(value: object) -> str:
    return decimal(value, 0)


def significant(value: object) -> str:
    """Differences on the gate's primary metric can be a few millionths (net return per bar)."""
    number = _finite(value)
    return MISSING if number is None else f"{number:+.3g}"


Format = Callable[[object], str]
SummaryColumn = tuple[str, Callable[[pd.Series], str]]


def _plain(column: str, form: Format) -> Callable[[pd.Series], str]:
    return lambda row: form(row.get(column))


def _interval(column: str, form: Format) -> Callable[[pd.Series], str]:
    def cell(row: pd.Series) -> str:
        low, high = row.get(f"{column}_low"), row.get(f"{column}_high")
        bounds = "" if _finite(low) is None else f" [{form(low)}, {form(high)}]"
        return f"{form(row.get(column))}{bounds}"

    return cell


CLASSIFICATION: tuple[SummaryColumn, ...] = (
    ("kind", lambda row: str(row.get("kind", ""))),
    ("accuracy [CI]", _interval("accuracy", percent)),
    ("balanced accuracy", _plain("balanced_accuracy", percent)),
    ("ROC AUC", _plain("roc_auc", lambda v: decimal(v, 4))),
    ("log loss", _plain("log_loss", lambda v: decimal(v, 4))),
    ("Brier", _plain("brier", lambda v: decimal(v, 4))),
    ("IC", _plain("ic", lambda v: decimal(v, 4))),
    ("mean abstain θ", _plain("abstain", lambda v: decimal(v, 3))),
)
VERSUS: tuple[SummaryColumn, ...] = (
    ("best baseline", lambda row: str(row.get("vs_baseline") or MISSING)),
    ("difference (primary metric)", _plain("vs_baseline_difference", significant)),
    ("p-value", _plain("vs_baseline_p", lambda v: decimal(v, 3))),
    ("net Sharpe [CI]", _interval("sharpe", decimal)),
)
RISK: tuple[tuple[str, str, Format], ...] = (
    ("net return", "net_return", percent),
    ("CAGR", "cagr", percent),
    ("volatility (yearly)", "volatility", percent),
    ("Sharpe", "sharpe", decimal),
    ("Sortino", "sortino", decimal),
    ("max drawdown", "max_drawdown", percent),
)
ACTIVITY: tuple[tuple[str, str, Format], ...] = (
    ("turnover (units/year)", "turnover", lambda v: decimal(v, 1)),
    ("trades", "trades", count),
    ("exposure", "exposure", lambda v: percent(v, 1)),
    ("hit rate", "hit_rate", lambda v: percent(v, 1)),
)
DIGEST: tuple[tuple[str, str, Format], ...] = (
    ("accuracy", "accuracy", percent),
    ("net return", "net_return", percent),
    ("net Sharpe", "sharpe", decimal),
    ("max drawdown", "max_drawdown", percent),
    ("turnover/year", "turnover", lambda v: decimal(v, 1)),
    ("trades", "trades", count),
    ("exposure", "exposure", lambda v: percent(v, 1)),
)


def _cell(item: str | Cell) -> str:
    cell = item if isinstance(item, Cell) else Cell(item)
    style = f' style="{markup.escape(cell.style)}"' if cell.style else ""
    return f"<td{style}>{markup.escape(cell.text)}</td>"


def _one_table(corner: str, headers: Sequence[str], rows: Sequence[Row]) -> str:
    head = "".join(f"<th>{markup.escape(text)}</th>" for text in [corner, *headers])
    body = "".join(
        f"<tr><th>{markup.escape(label)}</th>{''.join(_cell(item) for item in cells)}</tr>"
        for label, cells in rows
    )
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def table(corner: str, headers: Sequence[str], rows: Sequence[Row]) -> str:
    """A table in a horizontally scrolling box, split by columns so none has more than ``MAX_COLUMNS``."""
    width = MAX_COLUMNS - 1
    return "".join(
        _one_table(
            corner,
            headers[start : start + width],
            [(label, cells[start : start + width]) for label, cells in rows],
        )
        for start in range(0, max(len(headers), 1), width)
    )


def summary_table(summary: pd.DataFrame, columns: Sequence[SummaryColumn]) -> str:
    rows = [(str(name), [form(row) for _, form in columns]) for name, row in summary.iterrows()]
    return table("predictor", [header for header, _ in columns], rows)


def _figures_table(
    named: Mapping[str, Mapping[str, float]], columns: Sequence[tuple[str, str, Format]]
) -> str:
    rows = [(name, [form(values[key]) for _, key, form in columns]) for name, values in named.items()]
    return table("predictor", [header for header, _, _ in columns], rows)


def _series(item: Track, values: FloatArray) -> pd.Series:
    return pd.Series(values, index=item.open_time)


def _colour(value: float, scale: float) -> str:
    strength = 0.12 + 0.6 * min(abs(value) / scale, 1.0)
    rgb = "26,127,55" if value >= 0 else "180,35,24"
    return f"background:rgba({rgb},{strength:.2f})"


def monthly_table(returns: pd.Series) -> str:
    """Cells shaded by sign and size relative to the largest month (a year's total only saturates)."""
    frame = monthly_returns(returns)
    months = np.abs(frame.loc[list(MONTHS)].to_numpy(dtype=np.float64))
    scale = max(float(np.nanmax(months, initial=0.0)), 1e-12)
    rows: list[Row] = [
        (
            str(month),
            [Cell(MISSING) if pd.isna(v) else Cell(percent(v, 1), _colour(float(v), scale)) for v in values],
        )
        for month, values in frame.iterrows()
    ]
    return table("month", [str(year) for year in frame.columns], rows)


def _image(images: Mapping[str, bytes], name: str, alt: str) -> str:
    encoded = base64.b64encode(images[name]).decode()
    return f'<img alt="{markup.escape(alt)}" src="data:image/png;base64,{encoded}">'


def _section(heading: str, note: str, body: str) -> str:
    return f"<h2>{markup.escape(heading)}</h2><p class='note'>{markup.escape(note)}</p>{body}"


def _models(tracks: Sequence[Track]) -> list[Track]:
    return [item for item in tracks if item.kind == "model"]


def images(tracks: Sequence[Track]) -> dict[str, bytes]:
    """The report's figures as PNGs, keyed by the artifact name they are logged under. Every track covers
    the same bars, so the first one's market return is buy-and-hold's."""
    models = _models(tracks)
    drawn = {
        "equity_drawdown": figures.equity_figure(models, tracks[0]),
        "decisions": figures.decisions_figure(models),
        "confusion": figures.confusion_figure(models),
        "roc_calibration": figures.classifier_figure(models),
    }
    return {name: figures.png(figure) for name, figure in drawn.items()}


def _header(title: str, tracks: Sequence[Track], reasons: Sequence[str]) -> str:
    times = tracks[0].open_time
    window = f"{times[0]:%Y-%m-%d %H:%M} – {times[-1]:%Y-%m-%d %H:%M} UTC, {len(times):,} bars"
    items = "".join(f"<li>{markup.escape(reason)}</li>" for reason in reasons)
    return (
        f"<h1>{markup.escape(title)}</h1><p>Out-of-sample window {window}. Every predictor is traded by the "
        "configured decision rule on the same bars; returns are net of costs.</p>"
        f"<h2>Gate decision</h2><ul>{items}</ul>"
    )


def _summary(summary: pd.DataFrame) -> str:
    return _section(
        "Summary",
        "Classification over every out-of-sample bar (CI: bootstrap interval), and each model against the "
        "best baseline on the gate's primary metric.",
        summary_table(summary, CLASSIFICATION) + summary_table(summary, VERSUS),
    )


def _trading(tracks: Sequence[Track], bars_per_year: float, pictures: Mapping[str, bytes]) -> str:
    market = tracks[0]
    risk = {item.name: risk_figures(_series(item, item.net_return), bars_per_year) for item in tracks}
    risk["buy-and-hold"] = risk_figures(_series(market, market.market_return), bars_per_year)
    activity = {item.name: trading_figures(item, bars_per_year) for item in tracks}
    return (
        _section(
            "Equity and drawdown",
            "Each model's equity net of costs beside buy-and-hold (the market, no costs).",
            _image(pictures, "equity_drawdown", "equity and drawdown"),
        )
        + _section(
            "Returns and risk",
            f"Annualised with {bars_per_year:,.0f} bars a year; net of costs.",
            _figures_table(risk, RISK),
        )
        + _section(
            "Trading activity",
            "Trades: bars where the position changed. Exposure: share of bars holding a position. Hit rate: "
            "share of those bars where the position's sign matched the market move.",
            _figures_table(activity, ACTIVITY),
        )
    )


def _monthly(tracks: Sequence[Track]) -> str:
    market = tracks[0]
    series = {item.name: _series(item, item.net_return) for item in _models(tracks)}
    series["buy-and-hold"] = _series(market, market.market_return)
    tables = "".join(
        f"<div><h3>{markup.escape(name)}</h3>{monthly_table(returns)}</div>"
        for name, returns in series.items()
    )
    return _section(
        "Monthly returns",
        "Compounded per calendar month (UTC), net of costs; the last row is each year's part of the window.",
        f'<div class="side">{tables}</div>',
    )


def _classifier(pictures: Mapping[str, bytes]) -> str:
    return _section(
        "Classification",
        "Confusion matrices (a call up is P(up) > 0.5), ROC and calibration of each model.",
        _image(pictures, "confusion", "confusion matrices")
        + _image(pictures, "roc_calibration", "ROC, calibration"),
    )


def _decisions(pictures: Mapping[str, bytes]) -> str:
    return _section(
        "Decisions on the price",
        "Close over the window, shaded where each model was long (green) or short (red); unshaded: flat.",
        _image(pictures, "decisions", "decisions on the price"),
    )


def html(
    title: str,
    tracks: Sequence[Track],
    summary: pd.DataFrame,
    reasons: Sequence[str],
    bars_per_year: float,
    pictures: Mapping[str, bytes] | None = None,
) -> str:
    """One file with everything inlined, so the MLflow artifact opens anywhere. ``pictures`` are
    ``images(tracks)`` when the caller already rendered them (to log them as PNGs too)."""
    drawn = images(tracks) if pictures is None else pictures
    body = (
        _header(title, tracks, reasons)
        + _summary(summary)
        + _trading(tracks, bars_per_year, drawn)
        + _monthly(tracks)
        + _classifier(drawn)
        + _decisions(drawn)
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{markup.escape(title)}</title>"
        f"<meta name='viewport' content='width=device-width'><style>{_STYLE}</style></head>"
        f"<body>{body}</body></html>"
    )


def _markdown_cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(summary: pd.DataFrame, reasons: Sequence[str], run_url: str | None) -> str:
    """A digest for places that render Markdown (the Prefect UI, the MLflow artifact view)."""
    headers = ["predictor", "kind", *(header for header, _, _ in DIGEST)]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for name, row in summary.iterrows():
        cells = [
            _markdown_cell(str(name)),
            str(row.get("kind", "")),
            *(form(row.get(key)) for _, key, form in DIGEST),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "**Gate decision**", "", *(f"- {reason}" for reason in reasons)]
    if run_url is not None:
        lines += ["", f"[MLflow run]({run_url})"]
    return "\n".join(lines) + "\n"
