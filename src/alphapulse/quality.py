"""Validation and quarantine: bad rows are kept as findings with the row itself, good rows still land.

Errors quarantine the row (it is not written to its table; the finding holds it verbatim): rule
violations, rows a source could not read, and re-imported bars that differ from the stored ones.
Warnings describe the data (gaps, extreme jumps, identical duplicates) without withholding anything.
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

from sqlalchemy import Engine, delete, select

from alphapulse.money import fits_storage, to_text
from alphapulse.sources.news import NewsRow
from alphapulse.sources.rows import MONEY_FIELDS, PRICE_FIELDS, CandleRow, UnreadableRow
from alphapulse.store import QUALITY_FINDINGS, Change, QualityFinding, upsert
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
    unreadable: Sequence[UnreadableRow] = (),
    dataset: str | None = None,
) -> Validated[CandleRow]:
    """Check one instrument's candles; ``previous`` is the last stored bar, so gaps across runs show.

    ``unreadable`` rows (which a source could not parse) are quarantined as they are; ``dataset`` names
    the instrument when no row could be read.
    """
    result: Validated[CandleRow] = Validated()
    if rows:
        dataset = candle_dataset(rows[0]["exchange"], rows[0]["symbol"], rows[0]["timeframe"])
    elif dataset is None:
        if unreadable:
            raise ValueError("unreadable rows need the dataset they belong to")
        return result
    result.findings.extend(unreadable_finding(dataset, row) for row in unreadable)
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


def unreadable_finding(dataset: str, row: UnreadableRow) -> Finding:
    kept = {"file": row.source, "line": row.line, "field": row.field, "reason": row.reason, "text": row.text}
    key = f"{row.source.rsplit('/', 1)[-1]}:{row.line}"
    return Finding(dataset, "unreadable_row", ERROR, key, row.describe(), kept)


def conflict_finding(dataset: str, change: Change) -> Finding:
    """A re-imported bar that differs from the stored one: both versions kept, the stored bar untouched."""
    differing = [name for name in MONEY_FIELDS if change.stored[name] != change.incoming[name]]
    moves = ", ".join(
        f"{name} {to_text(change.stored[name])} -> {to_text(change.incoming[name])}" for name in differing
    )
    detail = (
        f"differs from the stored bar ({moves}); the stored bar is kept. To apply the new values, "
        "import again with correct=True (CLI: --correct); the old ones then go to candle_corrections"
    )
    kept = {
        "stored": {name: change.stored[name] for name in MONEY_FIELDS},
        "incoming": {name: change.incoming[name] for name in MONEY_FIELDS},
        "differs": differing,
    }
    return Finding(dataset, "stored_conflict", ERROR, _key(change.stored), detail, kept)


def _row_errors(row: CandleRow) -> list[tuple[str, str]]:
    errors = []
    unstorable = [name for name in MONEY_FIELDS if not fits_storage(row[name])]  # type: ignore[literal-required]
    if unstorable:
        # Checked first: such a value would make the whole batch fail at the database.
        return [
            (
                "not_storable",
                f"{', '.join(unstorable)} out of range: the store keeps NUMERIC(38, 18) "
                "(at most 20 integer and 18 fraction digits)",
            )
        ]
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
    """Store findings idempotently; returns how many are new.

    A warning is one row per dataset/check/row key (seeing it again refreshes it). A quarantined
    finding also hashes the row it keeps: it holds data found nowhere else, so two different rows
    refused for the same key (two versions of one bar) are two findings, never one overwriting the other.
    """
    rows = [
        {
            "id": _finding_id(f),
            "run_id": run_id,
            "dataset": f.dataset,
            "check_name": f.check,
            "severity": f.severity,
            "quarantined": f.quarantined,
            "row_key": f.row_key,
            "detail": f.detail,
            "row_json": _row_json(f),
        }
        for f in findings
    ]
    return upsert(engine, QUALITY_FINDINGS, rows).inserted


def resolve_findings(engine: Engine, findings: Sequence[Finding]) -> int:
    """Remove findings that no longer hold (a quarantined conflict whose values were since applied, with
    the old ones audited); returns how many were stored."""
    if not findings:
        return 0
    table = QUALITY_FINDINGS
    with engine.begin() as connection:
        result = connection.execute(
            delete(table).where(table.c.id.in_([_finding_id(f) for f in findings])),
            execution_options={"preserve_rowcount": True},
        )
    return int(result.rowcount)


def _row_json(finding: Finding) -> str:
    return json.dumps(_jsonable(finding.row), sort_keys=True)


def _finding_id(finding: Finding) -> str:
    identity = f"{finding.dataset}|{finding.check}|{finding.row_key}"
    if finding.quarantined:
        identity += f"|{_row_json(finding)}"
    return hashlib.sha256(identity.encode()).hexdigest()


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
        if isinstance(value, Mapping):
            return _jsonable(value)
        return value

    return {k: convert(v) for k, v in row.items()}
