"""Idempotent bulk upserts keyed on a table's natural (primary) key.

Re-sending the same rows changes nothing. What a *differing* row for a stored key does is the caller's
choice (``on_change``): replace the stored row (the default, for derived records such as feature sets),
or keep the stored row and hand the difference back (``KEEP``, for market data, where a silent rewrite
would lose the old values). With an ``Audit`` the replaced rows' old and new values are written in the
same transaction. PostgreSQL takes the bulk path (COPY into a temporary table, then set-based SQL);
SQLite an executemany. Either way a row only counts as updated when one of its values really changed,
which is what lets the callers report "nothing new" honestly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Engine,
    MetaData,
    Table,
    and_,
    func,
    literal,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite

from alphapulse.money import ensure_storable, to_decimal, to_text
from alphapulse.store.types import ExactDecimal, UTCDateTime

#: When a row was last written (set on insert and update) and first written (insert only). Neither
#: counts as a change, so re-sending identical rows stays a no-op.
STAMP_COLUMN = "ingested_at"
CREATED_COLUMN = "created_at"
_STAMPS = (STAMP_COLUMN, CREATED_COLUMN)
_STORABLE = r"-?[0-9]{1,20}(?:\.[0-9]{1,18})?"
_STORABLE_TEXT = re.compile(_STORABLE)
_STORABLE_COLUMN = re.compile(rf"(?:{_STORABLE}\n)*")
_SHORT_ENOUGH = 20
_COPY_CHUNK = 2_000
_COPY_NULL = "\\N"
_COPY_SPECIALS = ("\\", "\t", "\n", "\r")
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


class OnChange(StrEnum):
    """What a row that differs from the stored row of its key does."""

    REPLACE = "replace"
    KEEP = "keep"


@dataclass(frozen=True)
class Change:
    """A stored row and the differing row sent for its key (every data column of each)."""

    stored: dict[str, Any]
    incoming: dict[str, Any]


@dataclass(frozen=True)
class Audit:
    """Where replaced rows are recorded: ``table`` has the key columns, ``old_<c>`` and ``new_<c>`` for
    every other data column, and the columns named in ``extra`` (e.g. the run id)."""

    table: Table
    extra: Mapping[str, Any]


@dataclass(frozen=True)
class UpsertResult:
    """``changes`` are the rows whose key was stored with other values: replaced (and counted in
    ``updated``) under ``REPLACE`` with an audit, refused (counted nowhere else) under ``KEEP``."""

    inserted: int
    updated: int
    unchanged: int
    changes: tuple[Change, ...] = field(default=())

    @property
    def written(self) -> int:
        return self.inserted + self.updated


def upsert(
    engine: Engine,
    table: Table,
    rows: Iterable[Mapping[str, Any]],
    *,
    on_change: OnChange = OnChange.REPLACE,
    audit: Audit | None = None,
) -> UpsertResult:
    """Insert new rows, treat differing ones as ``on_change`` says, leave identical ones; one transaction."""
    if audit is not None and on_change is not OnChange.REPLACE:
        raise ValueError("an audit records replacements; it needs on_change=REPLACE")
    key = [column.name for column in table.primary_key.columns]
    data_columns = [c.name for c in table.columns if c.name not in _STAMPS]
    unique = _last_per_key(list(rows), key)
    if not unique:
        return UpsertResult(0, 0, 0)
    with engine.begin() as connection:
        if on_change is OnChange.KEEP or audit is not None:
            return _upsert_guarded(connection, table, key, data_columns, unique, on_change, audit)
        if connection.dialect.name == "postgresql":
            inserted, updated = _upsert_postgres(connection, table, key, data_columns, unique)
        else:
            inserted, updated = _upsert_generic(connection, table, key, data_columns, unique)
    return UpsertResult(inserted, updated, len(unique) - inserted - updated)


def _last_per_key(rows: list[Mapping[str, Any]], key: Sequence[str]) -> list[Mapping[str, Any]]:
    # ON CONFLICT cannot touch one row twice in a statement; the last occurrence is the latest correction.
    keys = list(zip(*([row[k] for row in rows] for k in key), strict=True))
    last = dict(zip(keys, range(len(rows)), strict=True))
    if len(last) == len(rows):
        return rows
    return [rows[i] for i in sorted(last.values())]


def _upsert_generic(
    connection: Connection,
    table: Table,
    key: list[str],
    data_columns: list[str],
    rows: list[Mapping[str, Any]],
) -> tuple[int, int]:
    now = datetime.now(UTC)
    stamps = {name: now for name in _STAMPS if name in table.c}
    has_stamp = STAMP_COLUMN in stamps
    payload = [{**{c: row[c] for c in data_columns}, **stamps} for row in rows]
    changing = [c for c in data_columns if c not in key]
    statement = sqlite.insert(table)
    excluded = statement.excluded
    updates = {c: excluded[c] for c in changing}
    if has_stamp:
        updates[STAMP_COLUMN] = excluded[STAMP_COLUMN]
    statement = statement.on_conflict_do_update(
        index_elements=key,
        set_=updates,
        where=or_(*[table.c[c].is_distinct_from(excluded[c]) for c in changing]),
    )
    count = select(func.count()).select_from(table)
    before = connection.execute(count).scalar_one()
    written = connection.execute(statement, payload).rowcount
    after = connection.execute(count).scalar_one()
    inserted = after - before
    return inserted, written - inserted


def _upsert_postgres(
    connection: Connection,
    table: Table,
    key: list[str],
    data_columns: list[str],
    rows: list[Mapping[str, Any]],
) -> tuple[int, int]:
    _copy_into_stage(connection, table, data_columns, rows)
    raw = connection.connection.dbapi_connection
    assert isinstance(raw, psycopg.Connection)
    with raw.cursor() as cursor:
        cursor.execute(_merge_statement(table, key, data_columns))
        result = cursor.fetchone()
    assert result is not None
    return int(result[0]), int(result[1])


def _copy_into_stage(
    connection: Connection, table: Table, data_columns: list[str], rows: list[Mapping[str, Any]]
) -> None:
    target = sql.Identifier(table.name)
    stage = sql.Identifier(_stage_name(table))
    columns = sql.SQL(", ").join(map(sql.Identifier, data_columns))
    raw = connection.connection.dbapi_connection
    assert isinstance(raw, psycopg.Connection)
    with raw.cursor() as cursor:
        cursor.execute(
            sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA").format(
                stage, columns, target
            )
        )
        with cursor.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(stage, columns)) as copy:
            # Chunks let PostgreSQL parse one chunk while Python formats the next (two cores, not one).
            for start in range(0, len(rows), _COPY_CHUNK):
                copy.write(_copy_payload(table, data_columns, rows[start : start + _COPY_CHUNK]))


def _stage_name(table: Table) -> str:
    return f"_stage_{table.name}"


def _upsert_guarded(
    connection: Connection,
    table: Table,
    key: list[str],
    data_columns: list[str],
    rows: list[Mapping[str, Any]],
    on_change: OnChange,
    audit: Audit | None,
) -> UpsertResult:
    """Stage the rows, find the ones that differ from stored rows, then write as ``on_change`` says.

    The differing rows are found by one join inside the database (PostgreSQL reads nothing back when
    nothing differs), so the idempotent re-load stays a set operation.
    """
    stage = Table(
        _stage_name(table),
        MetaData(),
        *(Column(c, table.c[c].type) for c in data_columns),
        prefixes=["TEMPORARY"],
    )
    if connection.dialect.name == "postgresql":
        _copy_into_stage(connection, table, data_columns, rows)
    else:
        # pysqlite runs DDL outside the transaction, so a stage left by a failed call may still exist.
        connection.execute(text(f'DROP TABLE IF EXISTS "{stage.name}"'))
        stage.create(connection)
        connection.execute(stage.insert(), [{c: row[c] for c in data_columns} for row in rows])
    changing = [c for c in data_columns if c not in key]
    changes = _differing(connection, table, stage, key, data_columns, changing)
    replace = on_change is OnChange.REPLACE
    if audit is not None and changes:
        audited = [_audit_row(change, key, changing, audit) for change in changes]
        connection.execute(audit.table.insert(), audited)
    written = _merge_from_stage(connection, table, stage, key, data_columns, changing, replace=replace)
    if connection.dialect.name != "postgresql":
        stage.drop(connection)
    updated = len(changes) if replace else 0
    inserted = written - updated
    return UpsertResult(inserted, updated, len(rows) - inserted - len(changes), tuple(changes))


def _differing(
    connection: Connection,
    table: Table,
    stage: Table,
    key: list[str],
    data_columns: list[str],
    changing: list[str],
) -> list[Change]:
    query = (
        select(
            *(table.c[c].label(f"stored_{c}") for c in data_columns),
            *(stage.c[c].label(f"incoming_{c}") for c in changing),
        )
        .select_from(stage.join(table, and_(*(table.c[k] == stage.c[k] for k in key))))
        .where(or_(*(table.c[c].is_distinct_from(stage.c[c]) for c in changing)))
        .order_by(*(table.c[k] for k in key))
    )
    changes = []
    for row in connection.execute(query).mappings():
        stored = {c: row[f"stored_{c}"] for c in data_columns}
        incoming = {**{k: stored[k] for k in key}, **{c: row[f"incoming_{c}"] for c in changing}}
        changes.append(Change(stored=stored, incoming=incoming))
    return changes


def _audit_row(change: Change, key: list[str], changing: list[str], audit: Audit) -> dict[str, Any]:
    return {
        **{k: change.stored[k] for k in key},
        **{f"old_{c}": change.stored[c] for c in changing},
        **{f"new_{c}": change.incoming[c] for c in changing},
        **audit.extra,
    }


def _merge_from_stage(
    connection: Connection,
    table: Table,
    stage: Table,
    key: list[str],
    data_columns: list[str],
    changing: list[str],
    *,
    replace: bool,
) -> int:
    """Copy the staged rows in; returns how many rows were inserted or replaced."""
    now = datetime.now(UTC)
    stamps = [c for c in _STAMPS if c in table.c]
    dialect_insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    # SQLite needs a WHERE on INSERT ... SELECT ... ON CONFLICT to parse it unambiguously.
    selected = select(
        *(stage.c[c] for c in data_columns), *(literal(now, table.c[c].type) for c in stamps)
    ).where(true())
    statement = dialect_insert(table).from_select([*data_columns, *stamps], selected)
    if replace:
        excluded = statement.excluded
        assignments = {c: excluded[c] for c in changing}
        if STAMP_COLUMN in table.c:
            assignments[STAMP_COLUMN] = excluded[STAMP_COLUMN]
        statement = statement.on_conflict_do_update(
            index_elements=key,
            set_=assignments,
            where=or_(*(table.c[c].is_distinct_from(excluded[c]) for c in changing)),
        )
    else:
        statement = statement.on_conflict_do_nothing(index_elements=key)
    # SQLAlchemy keeps an INSERT's row count only when asked to.
    return int(connection.execute(statement.execution_options(preserve_rowcount=True)).rowcount)


def _merge_statement(table: Table, key: list[str], data_columns: list[str]) -> sql.Composed:
    target = sql.Identifier(table.name)
    changing = [c for c in data_columns if c not in key]
    stamped = [STAMP_COLUMN] if STAMP_COLUMN in table.c else []
    created = [CREATED_COLUMN] if CREATED_COLUMN in table.c else []
    return sql.SQL(
        "WITH written AS ("
        " INSERT INTO {target} ({inserted}) SELECT {selected} FROM {stage}"
        " ON CONFLICT ({key}) DO UPDATE SET {assignments}"
        " WHERE ({current}) IS DISTINCT FROM ({proposed})"
        " RETURNING (xmax = 0) AS fresh)"
        " SELECT count(*) FILTER (WHERE fresh), count(*) FILTER (WHERE NOT fresh) FROM written"
    ).format(
        target=target,
        inserted=sql.SQL(", ").join(map(sql.Identifier, [*data_columns, *stamped, *created])),
        selected=sql.SQL(", ").join(
            [*map(sql.Identifier, data_columns), *(sql.SQL("now()") for _ in [*stamped, *created])]
        ),
        stage=sql.Identifier(f"_stage_{table.name}"),
        key=sql.SQL(", ").join(map(sql.Identifier, key)),
        assignments=sql.SQL(", ").join(
            sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in [*changing, *stamped]
        ),
        current=sql.SQL(", ").join(sql.SQL("{}.{}").format(target, sql.Identifier(c)) for c in changing),
        proposed=sql.SQL(", ").join(sql.SQL("EXCLUDED.{}").format(sql.Identifier(c)) for c in changing),
    )


def _copy_payload(table: Table, data_columns: list[str], rows: list[Mapping[str, Any]]) -> bytes:
    """COPY text format built a column at a time, so each column's policy check runs once over it."""
    texts = [_format_column(table, c, [row[c] for row in rows]) for c in data_columns]
    lines = "\n".join(map("\t".join, zip(*texts, strict=True)))
    return (lines + "\n").encode()


def _format_column(table: Table, column: str, values: list[Any]) -> list[str]:
    column_type = table.c[column].type
    formatter: Callable[[list[Any], str], list[str]]
    if isinstance(column_type, ExactDecimal):
        formatter = _money_column
    elif isinstance(column_type, UTCDateTime):
        formatter = _utc_column
    elif isinstance(column_type, Boolean):
        formatter = _bool_column
    elif column_type.python_type is str:
        formatter = _text_column
    else:
        formatter = _plain_column
    return formatter(values, column)


def _money_column(values: list[Any], column: str) -> list[str]:
    # One regex over the whole column proves every value is a plain, in-range decimal; only values that
    # miss (floats, NaN, exponents, trailing zeros past 18 places, out of range) take the full policy,
    # which canonicalizes the harmless ones and refuses the rest. PostgreSQL would round silently.
    texts = [str(v) if type(v) is Decimal else _strict_money(v, column) for v in values]
    if _plainly_storable(texts):
        return texts
    return [
        t if _STORABLE_TEXT.fullmatch(t) else _strict_money(v, column)
        for t, v in zip(texts, values, strict=True)
    ]


def _plainly_storable(texts: list[str]) -> bool:
    # str(Decimal) only uses letters for exponents, NaN, Infinity; with no letters and at most 20
    # characters a value cannot exceed 20 integer or 18 fraction digits. Else one regex pass decides.
    if not texts:
        return True
    joined = "\n".join(texts)
    if max(map(len, texts)) <= _SHORT_ENOUGH and not any(letter in joined for letter in "EINaens"):
        return True
    return _STORABLE_COLUMN.fullmatch(joined + "\n") is not None


def _strict_money(value: Any, column: str) -> str:
    if value is None:
        return _COPY_NULL
    return to_text(ensure_storable(to_decimal(value, field=column), field=column))


def _utc_column(values: list[Any], column: str) -> list[str]:
    return [
        v.isoformat() if isinstance(v, datetime) and v.tzinfo is UTC else _strict_utc(v, column)
        for v in values
    ]


def _strict_utc(value: Any, column: str) -> str:
    if value is None:
        return _COPY_NULL
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{column}: naive or non-datetime value {value!r} refused: AlphaPulse stores UTC only"
        )
    return value.astimezone(UTC).isoformat()


def _text_column(values: list[Any], _column: str) -> list[str]:
    texts = [_COPY_NULL if v is None else str(v) for v in values]
    joined = "".join(texts)
    if any(special in joined for special in _COPY_SPECIALS):
        return [
            _COPY_NULL if v is None else t.translate(_COPY_ESCAPES)
            for t, v in zip(texts, values, strict=True)
        ]
    return texts


def _bool_column(values: list[Any], _column: str) -> list[str]:
    return [_COPY_NULL if v is None else ("t" if v else "f") for v in values]


def _plain_column(values: list[Any], _column: str) -> list[str]:
    return [_COPY_NULL if v is None else str(v) for v in values]
