"""Bulk loads through each backend's fastest native path, inside the caller's transaction.

PostgreSQL: binary COPY (into a temporary staging table when duplicates must be skipped, then one
INSERT ... SELECT ... ON CONFLICT DO NOTHING). SQLite: one prepared statement run by
`executemany` per batch. Rows are streamed in batches so that memory stays flat with input size.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

DEFAULT_BATCH = 20_000


def _batches(rows: Iterable[Sequence[Any]], size: int) -> Iterable[list[Sequence[Any]]]:
    iterator = iter(rows)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


_PG_COPY_TYPES = {
    "float": "float8",
    "double precision": "float8",
    "real": "float4",
    "integer": "int4",
    "bigint": "int8",
    "smallint": "int2",
    "boolean": "bool",
    "bytea": "bytea",
    "date": "date",
    "text": "text",
    "json": "jsonb",
    "jsonb": "jsonb",
    "uuid": "uuid",
}


def _pg_types(table: Table, columns: Sequence[str], connection: Connection) -> list[str]:
    """Binary COPY needs each column's PostgreSQL type name."""
    dialect = connection.dialect
    names = []
    for name in columns:
        column_type = table.c[name].type
        impl = getattr(column_type, "impl", column_type)
        compiled = impl.compile(dialect=dialect).lower()
        base = compiled.split("(")[0].strip()
        if base.startswith("timestamp"):
            names.append("timestamptz" if "with time zone" in compiled else "timestamp")
        elif base in ("varchar", "character varying", "char", "character"):
            names.append("text")
        elif base in _PG_COPY_TYPES:
            names.append(_PG_COPY_TYPES[base])
        else:
            names.append(base)
    return names


# Converted dates and times remembered per column before the memory is cleared.
_REMEMBERED = 4_096


def _remembering(processor: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`processor`, converting each date or time once: a set-based step stamps thousands of rows
    with the same instant (its `now`), and the UTC conversion is most of a row's cost."""
    seen: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        if not isinstance(value, date):
            return processor(value)
        # The zone is part of the key: equal instants in two zones may not convert alike.
        key = (value, value.tzinfo) if isinstance(value, datetime) else value
        converted = seen.get(key, seen)
        if converted is seen:
            if len(seen) >= _REMEMBERED:
                seen.clear()
            converted = seen[key] = processor(value)
        return converted

    return convert


def _sqlite_processors(
    table: Table, columns: Sequence[str], connection: Connection
) -> list[tuple[int, Callable[[Any], Any]]]:
    processors: list[tuple[int, Callable[[Any], Any]]] = []
    for index, name in enumerate(columns):
        processor = table.c[name].type._cached_bind_processor(connection.dialect)
        if processor is not None:
            processors.append((index, _remembering(processor)))
    return processors


@dataclass(frozen=True)
class _Load:
    """One call's rows for one table, as both backends' loaders receive it."""

    table: Table
    columns: Sequence[str]
    rows: Iterable[Sequence[Any]]
    skip_conflicts_on: Sequence[str] | None
    batch_size: int

    @property
    def column_list(self) -> str:
        return ", ".join(f'"{c}"' for c in self.columns)


def bulk_insert(
    session: Session | Connection,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    skip_conflicts_on: Sequence[str] | None = None,
    batch_size: int = DEFAULT_BATCH,
) -> int:
    """Insert `rows` (tuples in the order of `columns`) into `table`; return rows inserted.

    With `skip_conflicts_on`, rows whose key already exists (in the table or earlier in the same
    stream) are skipped, which makes re-loading the same data a no-op.
    """
    connection = session.connection() if isinstance(session, Session) else session
    load = _Load(table, columns, rows, skip_conflicts_on, batch_size)
    if connection.dialect.name == "postgresql":
        return _copy_postgresql(connection, load)
    return _executemany_sqlite(connection, load)


def _driver_connection(connection: Connection) -> Any:
    """The driver's own connection under SQLAlchemy's, for its native bulk path."""
    raw = connection.connection.driver_connection
    assert raw is not None
    return raw


def _copy_postgresql(connection: Connection, load: _Load) -> int:
    raw = _driver_connection(connection)
    types = _pg_types(load.table, load.columns, connection)
    column_list = load.column_list
    target = f'"{load.table.name}"'
    rows = load.rows
    staging = None
    if load.skip_conflicts_on:
        # Nothing to load needs no staging table (creating and dropping one is catalog work
        # that a request posting one result would otherwise do for every kind of row).
        iterator = iter(rows)
        first = next(iterator, None)
        if first is None:
            return 0
        rows = itertools.chain([first], iterator)
        staging = f"xt_stage_{uuid.uuid4().hex[:12]}"
        with raw.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMP TABLE {staging} ON COMMIT DROP AS "
                f"SELECT {column_list} FROM {target} WITH NO DATA"
            )
    destination = staging or target
    total = 0
    with raw.cursor() as cursor:
        with cursor.copy(f"COPY {destination} ({column_list}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(types)
            for batch in _batches(rows, load.batch_size):
                for row in batch:
                    copy.write_row(row)
                total += len(batch)
        if staging is None:
            return total
        keys = ", ".join(f'"{c}"' for c in load.skip_conflicts_on or ())
        cursor.execute(
            f"INSERT INTO {target} ({column_list}) SELECT DISTINCT ON ({keys}) {column_list} "
            f"FROM {staging} ORDER BY {keys} ON CONFLICT ({keys}) DO NOTHING"
        )
        inserted: int = cursor.rowcount
        cursor.execute(f"DROP TABLE {staging}")
        return inserted


def _executemany_sqlite(connection: Connection, load: _Load) -> int:
    raw = _driver_connection(connection)
    verb = "INSERT OR IGNORE" if load.skip_conflicts_on else "INSERT"
    placeholders = ", ".join("?" for _ in load.columns)
    statement = f'{verb} INTO "{load.table.name}" ({load.column_list}) VALUES ({placeholders})'
    processors = _sqlite_processors(load.table, load.columns, connection)
    inserted = 0
    cursor = raw.cursor()
    try:
        for batch in _batches(load.rows, load.batch_size):
            if processors:
                converted = []
                for row in batch:
                    values = list(row)
                    for index, processor in processors:
                        values[index] = processor(values[index])
                    converted.append(values)
                cursor.executemany(statement, converted)
            else:
                cursor.executemany(statement, batch)
            inserted += cursor.rowcount
    finally:
        cursor.close()
    return inserted
