"""Validation and quarantine: bad rows are kept as findings with the row itself, good rows still land.

Errors quarantine the row (it is not written to its table; the finding holds it verbatim). Warnings
describe the data (gaps, extreme jumps, identical duplicates) without withholding anything.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any, Final

from sqlalchemy import Engine, select

from alphapulse.money import to_text
from alphapulse.sources.news import NewsRow
from alphapulse.sources.rows import PRICE_FIELDS, CandleRow
from alphapulse.store import QUALITY_FINDINGS, QualityFinding, upsert
from alphapulse.timeframes import on_grid, timeframe_delta

ERROR: Final = "error"
WARNING: Final = "warning"
#: |log(close_t / close_t-1)| above this is reported; crypto has real 20% hours, so it is a warning only.
DEFAULT_JUMP_THRESHOLD: Final = 0.2


@dataclass(frozen=True)
class Finding:
    dataset: str
    check: str
    severity: str
    row_key: str
    detail: str
    row: Mapping[str, Any]

    @property
    def quarantined(self) -> bool:
        return self.severity == ERROR


@dataclass
class Validated[RowT]:
    accepted: list[RowT] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def quarantined(self) -> int:
        return sum(1 for f in self.findings if f.quarantined)


def candle_dataset(exchange: str, symbol: str, timeframe: str) -> str:
    return f"candles:{exchange}:{symbol}:{timeframe}"


def validate_candles(
    rows: Sequence[CandleRow],
    *,
    previous: CandleRow | None = None,
    jump_threshold: float = DEFAULT_JUMP_THRESHOLD,
) -> Validated[CandleRow]:
    """Check one instrument's candles; ``previous`` is the last stored bar, so gaps across runs show."""
    result: Validated[CandleRow] = Validated()
    if not rows:
        return result
    dataset = candle_dataset(rows[0]["exchange"], rows[0]["symbol"], rows[0]["timeframe"])
    unique = _deduplicate(rows, dataset, result)
    for row in unique:
        problems = _row_errors(row)
        if problems:
            for check, detail in problems:
                result.findings.append(Finding(dataset, check, ERROR, _key(row), detail, row))
        else:
            result.accepted.append(row)
    result.accepted.sort(key=lambda r: r["open_time"])
    _sequence_warnings(result.accepted, previous, dataset, jump_threshold, result)
    return result


def _deduplicate(rows: Sequence[CandleRow], dataset: str, result: Validated[CandleRow]) -> list[CandleRow]:
    by_time: dict[datetime, list[CandleRow]] = defaultdict(list)
    for row in rows:
        by_time[row["open_time"]].append(row)
    unique = []
    for same in by_time.values():
        distinct = {json.dumps(_jsonable(r), sort_keys=True) for r in same}
        if len(distinct) == 1:
            unique.append(same[0])
            if len(same) > 1:
                detail = f"{len(same)} identical copies; stored once"
                result.findings.append(
                    Finding(dataset, "duplicate_identical", WARNING, _key(same[0]), detail, same[0])
                )
            continue
        for copy in same:
            detail = f"{len(distinct)} conflicting versions of one bar; none stored until resolved"
            result.findings.append(Finding(dataset, "duplicate_conflict", ERROR, _key(copy), detail, copy))
    return unique


def _row_errors(row: CandleRow) -> list[tuple[str, str]]:
    errors = []
    prices = {name: row[name] for name in PRICE_FIELDS}  # type: ignore[literal-required]
    non_positive = [name for name, value in prices.items() if value <= 0]
    if non_positive or row["volume"] < 0:
        fields = non_positive + (["volume"] if row["volume"] < 0 else [])
        errors.append(("non_positive", f"{', '.join(fields)} must be positive (volume non-negative)"))
    low, high = row["low"], row["high"]
    if not (low <= min(row["open"], row["close"]) and max(row["open"], row["close"]) <= high):
        errors.append(
            (
                "ohlc_inconsistent",
                f"need low <= open, close <= high; got open={to_text(row['open'])} "
                f"high={to_text(high)} low={to_text(low)} close={to_text(row['close'])}",
            )
        )
    if not on_grid(row["open_time"], row["timeframe"]):
        errors.append(
            ("off_grid", f"open_time {row['open_time'].isoformat()} is not on the {row['timeframe']} grid")
        )
    return errors


def _sequence_warnings(
    rows: list[CandleRow],
    previous: CandleRow | None,
    dataset: str,
    jump_threshold: float,
    result: Validated[CandleRow],
) -> None:
    if not rows:
        return
    step = timeframe_delta(rows[0]["timeframe"])
    chain = ([previous] if previous is not None else []) + rows
    for before, after in pairwise(chain):
        missing = (after["open_time"] - before["open_time"]) // step - 1
        if missing > 0:
            span = {
                "from": (before["open_time"] + step).isoformat(),
                "to": (after["open_time"] - step).isoformat(),
            }
            result.findings.append(
                Finding(
                    dataset,
                    "gap",
                    WARNING,
                    f"{span['from']}..{span['to']}",
                    f"{missing} missing bar(s)",
                    span,
                )
            )
        jump = math.log(after["close"] / before["close"]) if before["close"] > 0 else 0.0
        if abs(jump) > jump_threshold:
            detail = (
                f"close moved {jump:+.1%} (log) from {to_text(before['close'])} to {to_text(after['close'])}"
            )
            result.findings.append(Finding(dataset, "extreme_jump", WARNING, _key(after), detail, after))


def validate_news(
    rows: Sequence[NewsRow], undated: Sequence[Mapping[str, Any]], *, source: str
) -> Validated[NewsRow]:
    """Items without a parseable date or without a title are quarantined with the item kept."""
    result: Validated[NewsRow] = Validated()
    dataset = f"news:{source}"
    for item in undated:
        key = str(item.get("guid") or item.get("url") or item.get("title"))
        detail = f"no parseable publication date (got {item.get('published')!r}) or no title/identity"
        result.findings.append(Finding(dataset, "undated_or_unidentified", ERROR, key, detail, item))
    for row in rows:
        if not row["title"]:
            result.findings.append(
                Finding(dataset, "empty_title", ERROR, row["id"], "headline has no title", row)
            )
        else:
            result.accepted.append(row)
    return result


def record_findings(engine: Engine, findings: Sequence[Finding], *, run_id: str) -> int:
    """Store findings idempotently (one row per dataset/check/row key); returns how many are new."""
    rows = [
        {
            "id": hashlib.sha256(f"{f.dataset}|{f.check}|{f.row_key}".encode()).hexdigest(),
            "run_id": run_id,
            "dataset": f.dataset,
            "check_name": f.check,
            "severity": f.severity,
            "quarantined": f.quarantined,
            "row_key": f.row_key,
            "detail": f.detail,
            "row_json": json.dumps(_jsonable(f.row), sort_keys=True),
        }
        for f in findings
    ]
    return upsert(engine, QUALITY_FINDINGS, rows).inserted


def stored_findings(engine: Engine, *, dataset_prefix: str = "") -> list[QualityFinding]:
    table = QUALITY_FINDINGS
    query = (
        select(table)
        .where(table.c.dataset.startswith(dataset_prefix))
        .order_by(table.c.dataset, table.c.check_name)
    )
    with engine.connect() as connection:
        return [QualityFinding(**row._mapping) for row in connection.execute(query)]


def _key(row: Mapping[str, Any]) -> str:
    moment = row.get("open_time")
    return moment.isoformat() if isinstance(moment, datetime) else str(row.get("id"))


def _jsonable(row: Mapping[str, Any]) -> dict[str, Any]:
    def convert(value: Any) -> Any:
        if isinstance(value, Decimal):
            return to_text(value)
        if isinstance(value, datetime | timedelta):
            return value.isoformat() if isinstance(value, datetime) else str(value)
        return value

    return {k: convert(v) for k, v in row.items()}
