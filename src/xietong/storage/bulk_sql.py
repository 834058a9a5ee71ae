"""Bulk look-ups the ingestion paths share: membership of many values in one statement, whole
integer columns streamed into NumPy, ids taken from a table's sequence ahead of a bulk load.

Each picks the backend's cheap route: an array parameter and binary COPY on PostgreSQL, a JSON
array and plain cursors on SQLite. Never one query per row.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

import numpy as np
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    String,
    Subquery,
    Table,
    any_,
    bindparam,
    func,
    insert,
    literal_column,
    select,
    text,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.orm import QueryableAttribute, Session

from xietong.storage.base import Base
from xietong.storage.bulk import bulk_insert

# Separates the values of a long IN-list sent as one string (no code contains it).
_SEPARATOR = "\x1f"
# Larger IN-lists are split: SQLite caps the number of parameters of one statement.
MAX_LIST = 20_000

# Values fetched per round trip by `fetch_int_column` on PostgreSQL (at most 16 MB each).
_RANGE = 2_000_000


def dialect_of(session: Session) -> str:
    return session.get_bind().dialect.name


def table_of(model: type[Base]) -> Table:
    """A mapped class's table, typed for `bulk_insert`."""
    return cast(Table, model.__table__)


def rowcount(result: Result[Any]) -> int:
    """Rows a DML statement touched."""
    return cast(CursorResult[Any], result).rowcount


def member_of(
    column: ColumnElement[Any] | QueryableAttribute[Any],
    values: Sequence[int] | Sequence[str],
    *,
    dialect: str,
) -> ColumnElement[bool]:
    """`column IN values` as one parameter, however many values there are.

    PostgreSQL gets the values as one separated string that the server splits: the driver would
    otherwise quote an array element by element in Python, slower than the query itself.
    """
    if dialect == "postgresql":
        if values and isinstance(values[0], str):
            texts = [str(v) for v in values]
            if any(_SEPARATOR in v for v in texts):
                return column == any_(bindparam(None, texts, type_=ARRAY(String())))
            joined = bindparam(None, _SEPARATOR.join(texts), type_=String())
            return column == any_(func.string_to_array(joined, _SEPARATOR))
        numbers = bindparam(None, ",".join(map(str, values)), type_=String())
        return column == any_(sql_cast(func.string_to_array(numbers, ","), ARRAY(BigInteger())))
    listed: Select[Any] = select(literal_column("value")).select_from(
        func.json_each(bindparam(None, json.dumps(list(values))))
    )
    return column.in_(listed.scalar_subquery())


def int_pairs(pairs: Sequence[tuple[int, int]], *, dialect: str) -> Subquery:
    """Pairs of integers as a table (`key`, `value`) sent as one parameter, to join an UPDATE
    on: each row its own new value in one statement, whatever the number of rows."""
    if dialect == "postgresql":

        def unnested(values: Sequence[int]) -> ColumnElement[Any]:
            numbers = bindparam(None, ",".join(map(str, values)), type_=String())
            return func.unnest(sql_cast(func.string_to_array(numbers, ","), ARRAY(BigInteger())))

        return select(
            unnested([k for k, _ in pairs]).label("key"),
            unnested([v for _, v in pairs]).label("value"),
        ).subquery("pairs")
    pair: ColumnElement[Any] = literal_column("value")
    return (
        select(
            func.json_extract(pair, "$[0]").label("key"),
            func.json_extract(pair, "$[1]").label("value"),
        )
        .select_from(func.json_each(bindparam(None, json.dumps([list(p) for p in pairs]))))
        .subquery("pairs")
    )


def chunks(values: Sequence[Any], size: int = MAX_LIST) -> list[Sequence[Any]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


def fetch_int_column(session: Session, statement: Select[Any]) -> np.ndarray:
    """The single, non-null integer column `statement` returns, as an int64 array.

    PostgreSQL sends each range of values as one bytea of 8-byte integers (`int8send`
    aggregated on the server), parsed by NumPy without a Python object per row; SQLite is read
    by cursor blocks. Memory is the array itself, never a list of Python rows.
    """
    connection = session.connection()
    parts: list[np.ndarray] = []
    if connection.dialect.name == "postgresql":
        values = statement.subquery()
        column = next(iter(values.c))
        low, high = session.execute(select(func.min(column), func.max(column))).one()
        if low is None:
            return np.empty(0, dtype=np.int64)
        packed = func.string_agg(func.int8send(column), literal_column("''::bytea"))
        for start in range(low, high + 1, _RANGE):
            blob = session.execute(
                select(packed).where(column >= start, column < start + _RANGE)
            ).scalar()
            if blob:
                parts.append(np.frombuffer(blob, dtype=">i8").astype(np.int64))
    else:
        raw = connection.connection.driver_connection
        assert raw is not None
        compiled = statement.compile(
            dialect=connection.dialect, compile_kwargs={"literal_binds": True}
        )
        cursor = raw.cursor()
        try:
            cursor.execute(str(compiled))
            while block := cursor.fetchmany(200_000):
                parts.append(
                    np.fromiter((row[0] for row in block), dtype=np.int64, count=len(block))
                )
        finally:
            cursor.close()
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)


def allocate_ids(session: Session, table: Table, count: int) -> list[int]:
    """`count` fresh primary-key values for rows about to be bulk-loaded with explicit ids.

    PostgreSQL takes them from the table's sequence. On SQLite the caller's transaction must
    already hold the write lock (it has written), so nobody else can take the same values.
    """
    if count == 0:
        return []
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        sequence = connection.execute(
            text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table.name}
        ).scalar_one()
        taken: list[int] = connection.execute(
            text(
                "SELECT array_agg(nextval(CAST(:sequence AS regclass))) FROM generate_series(1, :n)"
            ),
            {"sequence": sequence, "n": count},
        ).scalar_one()
        return taken
    top = connection.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
    return list(range(top + 1, top + 1 + count))


def take_write_lock(session: Session, table: Table) -> None:
    """On SQLite, start writing now: from here on no other writer can commit before we do, so
    `allocate_ids` may read the highest id. A no-op on PostgreSQL (ids come from sequences)."""
    if dialect_of(session) == "sqlite":
        session.execute(text(f'UPDATE "{table.name}" SET id = id WHERE 1 = 0'))


def insert_with_ids(
    session: Session,
    model: type[Base],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    copy: bool = True,
) -> list[int]:
    """Insert `rows` into `model`'s table with fresh ids, by `bulk_insert` (COPY on PostgreSQL)
    or, without `copy`, one `executemany` (a table with JSON columns: binary COPY would send
    them as jsonb); the ids in the order of `rows`.

    For a set-based step that must know the ids of what it wrote: RETURNING with its rows in
    order is one statement per row on SQLite, this is one per batch on both backends.
    """
    if not rows:
        return []
    session.flush()
    table = table_of(model)
    take_write_lock(session, table)
    ids = allocate_ids(session, table, len(rows))
    named = ["id", *columns]
    with_ids = [(i, *row) for i, row in zip(ids, rows, strict=True)]
    if copy:
        bulk_insert(session, table, named, with_ids)
    else:
        session.execute(insert(table), [dict(zip(named, row, strict=True)) for row in with_ids])
    return ids


_PG_EPOCH = np.datetime64("2000-01-01", "D")
_BINARY_TYPES = {"int2": ">i2", "int4": ">i4", "int8": ">i8", "date": ">i4"}
_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
_COPY_TRAILER = b"\xff\xff"


def copy_columns(
    session: Session,
    table: Table,
    columns: Sequence[str],
    arrays: Sequence[np.ndarray],
) -> int:
    """Append rows given column-wise as NumPy arrays (integers, or dates as datetime64[D]).

    The same path as `storage.bulk.bulk_insert` — binary COPY on PostgreSQL, one prepared
    `executemany` on SQLite, in the caller's transaction — but the COPY payload is laid out by
    NumPy in one piece instead of one Python call per row: ten million memberships a day make
    that the difference between seconds and a minute. No NULLs, no conflict handling.
    """
    count = len(arrays[0]) if arrays else 0
    if count == 0:
        return 0
    connection = session.connection()
    raw = connection.connection.driver_connection
    assert raw is not None
    kinds = [
        "date" if a.dtype.kind == "M" else _pg_int(table, c, connection)
        for c, a in zip(columns, arrays, strict=True)
    ]
    names = ", ".join(f'"{c}"' for c in columns)
    if connection.dialect.name == "postgresql":
        layout = [("fields", ">i2")]
        for k, kind in enumerate(kinds):
            layout += [(f"length{k}", ">i4"), (f"value{k}", _BINARY_TYPES[kind])]
        rows = np.empty(count, dtype=np.dtype(layout))
        rows["fields"] = len(columns)
        for k, (kind, values) in enumerate(zip(kinds, arrays, strict=True)):
            rows[f"length{k}"] = np.dtype(_BINARY_TYPES[kind]).itemsize
            rows[f"value{k}"] = (values - _PG_EPOCH).astype(np.int64) if kind == "date" else values
        with (
            raw.cursor() as cursor,
            cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN (FORMAT BINARY)') as copy,
        ):
            copy.write(_COPY_SIGNATURE)
            copy.write(rows.tobytes())
            copy.write(_COPY_TRAILER)
        return count
    as_lists = [
        np.datetime_as_string(a, unit="D").tolist() if a.dtype.kind == "M" else a.tolist()
        for a in arrays
    ]
    cursor = raw.cursor()
    try:
        cursor.executemany(
            f'INSERT INTO "{table.name}" ({names}) VALUES ({", ".join("?" * len(columns))})',
            zip(*as_lists, strict=True),
        )
    finally:
        cursor.close()
    return count


def _pg_int(table: Table, column: str, connection: Any) -> str:
    python_type = table.c[column].type.compile(dialect=connection.dialect).lower()
    return {"smallint": "int2", "integer": "int4", "bigint": "int8"}.get(python_type, "int8")


def summarize_block_ranges(session: Session, index: str) -> None:
    """Bring a BRIN index up to date with the rows just appended (PostgreSQL; else a no-op).

    A BRIN index only narrows a search over the block ranges it has summarized; ranges filled
    since are scanned whole. Summarizing the new ranges reads only those blocks.
    """
    if dialect_of(session) == "postgresql":
        session.execute(
            select(func.brin_summarize_new_values(literal_column(f"'{index}'::regclass")))
        )


@contextmanager
def local_settings(session: Session, **values: str) -> Iterator[None]:
    """PostgreSQL run-time settings for the block only (local to the caller's transaction),
    restored after it; nothing on SQLite."""
    if dialect_of(session) != "postgresql" or not values:
        yield
        return
    names = list(values)
    before = session.execute(
        text("SELECT " + ", ".join(f"current_setting(:n{i})" for i in range(len(names)))),
        {f"n{i}": name for i, name in enumerate(names)},
    ).one()

    def apply(settings: dict[str, str]) -> None:
        session.execute(
            text(
                "SELECT " + ", ".join(f"set_config(:n{i}, :v{i}, true)" for i in range(len(names)))
            ),
            {
                **{f"n{i}": n for i, n in enumerate(names)},
                **{f"v{i}": settings[n] for i, n in enumerate(names)},
            },
        )

    apply(values)
    yield
    # Not on an error: the caller's transaction (or savepoint) is rolled back, and the settings
    # with it; an aborted transaction would refuse the statement anyway.
    apply(dict(zip(names, before, strict=True)))


@contextmanager
def index_scans(session: Session) -> Iterator[None]:
    """Within the block, PostgreSQL reads few rows through their index, never a whole table.

    Right after a bulk load in the same transaction the planner has no statistics for the new
    rows and guesses that a look-up of a few hundred tubes matches most of the day; it would
    then scan (and JIT-compile a scan of) ten million memberships for a thousand rows.
    """
    with local_settings(session, enable_seqscan="off", jit="off"):
        yield


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while millions of short-lived rows go through.

    A chunk's records are lists, which the collector tracks; with tens of thousands alive at
    once it would keep re-scanning them (measured: 60 % of the reading time) though they hold no
    cycles. Reference counting still frees them; the collector resumes, as it was, afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def insert_rows(
    session: Session, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> int:
    """`storage.bulk.bulk_insert` for rows whose values repeat (times, codes of a site, days).

    On SQLite every value of a typed column goes through its bind processor in Python; here each
    distinct value is converted once per call (a tube file has a few hundred distinct times per
    chunk of thousands of tubes). PostgreSQL's binary COPY needs no conversion: `bulk_insert`.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite" or not rows:
        return bulk_insert(session, table, columns, rows)
    converters: list[tuple[int, Any, dict[Any, Any]]] = []
    for index, name in enumerate(columns):
        processor = table.c[name].type._cached_bind_processor(connection.dialect)
        if processor is not None:
            converters.append((index, processor, {}))
    converted = []
    for row in rows:
        values = list(row)
        for index, processor, seen in converters:
            value = values[index]
            if value is not None:
                done = seen.get(value)
                if done is None:
                    done = seen[value] = processor(value)
                values[index] = done
        converted.append(values)
    raw = connection.connection.driver_connection
    assert raw is not None
    names = ", ".join(f'"{c}"' for c in columns)
    cursor = raw.cursor()
    try:
        cursor.executemany(
            f'INSERT INTO "{table.name}" ({names}) VALUES ({", ".join("?" * len(columns))})',
            converted,
        )
    finally:
        cursor.close()
    return len(converted)
