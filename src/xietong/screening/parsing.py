"""Reading the values laboratories and sampling teams send: outcomes, Ct values, instants, and a
positional CSV reader for the files that carry millions of rows a day.

`xietong.core.csvfiles.read_records` builds one dict per record; at ten million swabs a day that
alone would take longer than loading them, so the tube and result files are read by position
with the same header rules (missing required column, unknown column, wrong number of fields).
No database here.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO, overload
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from xietong.core.clock import CLOCK_SKEW
from xietong.core.errors import RowError, ValidationFailed

OUTCOME_WORDS = {
    "negative": "negative",
    "阴性": "negative",
    "陰性": "negative",
    "positive": "positive",
    "阳性": "positive",
    "陽性": "positive",
    "invalid": "invalid",
    "无效": "invalid",
    "無效": "invalid",
}
# Real-time PCR runs 40–45 cycles; a Ct outside (0, 50] is a typing error.
MAX_CT = 50.0


class BadValue(ValueError):
    """A value that cannot be used; the message is the reason shown to the sender."""


def parse_outcome(text: str) -> str:
    outcome = OUTCOME_WORDS.get(text.strip().lower())
    if outcome is None:
        raise BadValue("must be negative, positive or invalid (阴性/阳性/无效)")
    return outcome


def parse_ct(text: str | float | None) -> float | None:
    if text is None or (isinstance(text, str) and text.strip() in ("", "-")):
        return None
    try:
        value = float(text)
    except ValueError:
        raise BadValue("not a number") from None
    if math.isnan(value) or not 0.0 < value <= MAX_CT:
        raise BadValue(f"must be between 0 and {MAX_CT:g}")
    return value


def parse_instant(value: str | datetime, *, tz: str, now: datetime) -> datetime:
    """An ISO 8601 instant in UTC; a time without offset is local time in `tz`."""
    if isinstance(value, datetime):
        at = value
    else:
        try:
            at = datetime.fromisoformat(value.strip())
        except ValueError:
            raise BadValue(
                "not a date and time (ISO 8601, e.g. 2022-11-15T08:30:00+08:00)"
            ) from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=ZoneInfo(tz))
    at = at.astimezone(UTC)
    if at > now + CLOCK_SKEW:
        raise BadValue("lies in the future")
    return at


def parse_int(value: str | int, *, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise BadValue("not a whole number") from None
    if not low <= number <= high:
        raise BadValue(f"must be between {low} and {high}")
    return number


@dataclass(frozen=True)
class Header:
    """Where each known column sits in the file's rows (None: absent)."""

    index: dict[str, int]
    width: int

    def at(self, name: str) -> int | None:
        return self.index.get(name)


class Columns:
    """The records of a chunk held column by column as Arrow string arrays, as Arrow's CSV
    reader (C++) made them: no Python object per value. Indexing gives a record as a list, a
    slice gives Columns; adding a list of records gives a list (the rare mixed chunk)."""

    __slots__ = ("arrays",)

    def __init__(self, arrays: Sequence[pa.Array]) -> None:
        self.arrays = list(arrays)

    def __len__(self) -> int:
        return len(self.arrays[0]) if self.arrays else 0

    @overload
    def __getitem__(self, k: int) -> list[str]: ...
    @overload
    def __getitem__(self, k: slice) -> Columns: ...
    def __getitem__(self, k: int | slice) -> list[str] | Columns:
        if isinstance(k, slice):
            return Columns([a[k] for a in self.arrays])
        return [a[k].as_py() for a in self.arrays]

    def __add__(self, other: Columns | list[list[str]]) -> Columns | list[list[str]]:
        if isinstance(other, Columns):
            return Columns(
                [pa.concat_arrays([a, b]) for a, b in zip(self.arrays, other.arrays, strict=True)]
            )
        return self.as_rows() + other

    def __radd__(self, other: list[list[str]]) -> list[list[str]]:
        return other + self.as_rows()

    def column(self, at: int) -> pa.Array:
        return self.arrays[at]

    def values(self, at: int) -> list[str]:
        return list(self.arrays[at].to_pylist())

    def take(self, rows: Sequence[int] | np.ndarray) -> list[tuple[str, ...]]:
        """The records at `rows`, as tuples."""
        picked = pa.array(np.asarray(rows, dtype=np.int64))
        return list(zip(*(a.take(picked).to_pylist() for a in self.arrays), strict=True))

    def adjacent_differ(self, at: int) -> np.ndarray:
        """For each record but the first: does column `at` differ from the record before?"""
        a = self.arrays[at]
        if len(a) < 2:
            return np.zeros(0, dtype=bool)
        return np.asarray(
            pc.not_equal(a.slice(1), a.slice(0, len(a) - 1)).to_numpy(zero_copy_only=False),
            dtype=bool,
        )

    def differ_from(self, at: int, rows: np.ndarray) -> np.ndarray:
        """For each record: does column `at` differ from its value in record `rows[k]`?"""
        a = self.arrays[at]
        other = a.take(pa.array(np.asarray(rows, dtype=np.int64)))
        return np.asarray(pc.not_equal(a, other).to_numpy(zero_copy_only=False), dtype=bool)

    def int_column(self, at: int) -> np.ndarray | None:
        """Column `at` as int64 when every value is a plain whole number, else None."""
        try:
            return np.asarray(pc.cast(self.arrays[at], pa.int64()).to_numpy(), dtype=np.int64)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None

    def as_rows(self) -> list[list[str]]:
        return [list(r) for r in zip(*(a.to_pylist() for a in self.arrays), strict=True)]


Records = list[list[str]] | Columns
# Line numbers (of each record's last line) and the records of one chunk.
Chunk = tuple[np.ndarray, Records]
RowChunk = tuple[np.ndarray, list[list[str]]]


def read_header(
    reader: Iterator[list[str]],
    *,
    required: Sequence[str],
    optional: Sequence[str] = (),
    one_of: Sequence[Sequence[str]] = (),
) -> Header:
    """Check a file's header: every problem with it is listed at once."""
    try:
        header = [h.strip().lstrip("\ufeff") for h in next(reader)]
    except StopIteration:
        raise ValidationFailed(
            errors=[RowError("line 1", "header", "the file is empty")], summary="file refused"
        ) from None
    known = [*required, *optional]
    problems = [
        RowError("line 1", name, "required column is missing")
        for name in required
        if name not in header
    ]
    for group in one_of:
        if not any(name in header for name in group):
            problems.append(RowError("line 1", "/".join(group), "one of these columns is needed"))
    problems += [
        RowError("line 1", name, f"unknown column (expected some of {sorted(known)})")
        for name in header
        if name not in known
    ]
    if len(set(header)) != len(header):
        problems.append(RowError("line 1", "header", "a column appears twice"))
    if problems:
        raise ValidationFailed(errors=problems, summary="file refused")
    return Header({name: i for i, name in enumerate(header)}, len(header))


def read_rows(
    stream: TextIO,
    *,
    required: Sequence[str],
    optional: Sequence[str] = (),
    one_of: Sequence[Sequence[str]] = (),
) -> tuple[Header, Iterator[tuple[int, list[str]]]]:
    """The file's header and an iterator of (line number, fields); the header is checked first.

    `one_of` lists groups of columns of which at least one must be present. A record with the
    wrong number of fields is yielded as an empty list for the caller to reject.
    """
    reader = csv.reader(stream)
    header = read_header(reader, required=required, optional=optional, one_of=one_of)
    width = header.width

    def rows() -> Iterator[tuple[int, list[str]]]:
        for record in reader:
            if len(record) == width:
                yield reader.line_num, record
            elif record and any(v.strip() for v in record):
                yield reader.line_num, []

    return header, rows()


def read_chunks(
    stream: TextIO,
    *,
    size: int,
    required: Sequence[str],
    optional: Sequence[str] = (),
    one_of: Sequence[Sequence[str]] = (),
) -> tuple[Header, Iterator[RowChunk]]:
    """The file's header and its records in chunks of (line numbers, records), as they are.

    For the columnar paths: the csv module builds the records of a chunk in one call and the
    line numbers are worked out per chunk, not per record (records of the wrong width, blank
    ones included, are left for the caller to sort out).
    """
    reader = csv.reader(stream)
    header = read_header(reader, required=required, optional=optional, one_of=one_of)
    return header, _record_chunks(reader, size=size, lines_before=0)


def _record_chunks(reader: Any, *, size: int, lines_before: int) -> Iterator[RowChunk]:
    """Chunks of a csv reader's records, each with the number of its last line (`lines_before`
    lines precede what the reader reads). The reader's own count is taken after each record: a
    quoted value may hold line breaks, and only the reader knows where a record ended."""
    while True:
        rows: list[list[str]] = []
        ends: list[int] = []
        for row in itertools.islice(reader, size):
            rows.append(row)
            ends.append(reader.line_num)
        if not rows:
            return
        yield lines_before + np.asarray(ends, dtype=np.int64), rows


def read_column_chunks(
    stream: TextIO,
    *,
    size: int,
    required: Sequence[str],
    optional: Sequence[str] = (),
    one_of: Sequence[Sequence[str]] = (),
) -> tuple[Header, Iterator[Chunk]]:
    """Like `read_chunks`, but a block of plain records (no quotes, one record per line, all
    of the header's width) is parsed by Arrow's CSV reader into `Columns`.

    Any block Arrow could read differently from the csv module (quotes, blank lines, a lone
    carriage return, a record of another width) is read by the csv module instead, record by
    record as `read_chunks` does, so that every value and line number is the same either way;
    after the first quote the rest of the file is, as a quoted value may span lines. A block is
    `size` lines, read line by line, so that a file arriving through a pipe is loaded as it comes.
    """
    lines = iter(stream.readline, "")
    reader = csv.reader(lines)
    header = read_header(reader, required=required, optional=optional, one_of=one_of)
    names = [f"c{i}" for i in range(header.width)]
    options = (
        pa_csv.ReadOptions(column_names=names, block_size=1 << 26),
        pa_csv.ParseOptions(newlines_in_values=False, ignore_empty_lines=True),
        pa_csv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )

    def chunks() -> Iterator[Chunk]:
        before = reader.line_num
        while True:
            block = "".join(itertools.islice(lines, size))
            if not block:
                return
            if '"' in block or block.count("\r") != block.count("\r\n"):
                rest = csv.reader(itertools.chain(io.StringIO(block, newline=""), lines))
                yield from _record_chunks(rest, size=size, lines_before=before)
                return
            count = block.count("\n") + (0 if block.endswith("\n") else 1)
            numbers = np.arange(before + 1, before + count + 1, dtype=np.int64)
            before += count
            try:
                table = pa_csv.read_csv(io.BytesIO(block.encode()), *options)
            except pa.ArrowInvalid:
                table = None
            if table is None or table.num_rows != count:
                # A blank line or a record of another width: as the csv module reads them.
                yield numbers, list(csv.reader(io.StringIO(block, newline="")))
                continue
            yield numbers, Columns([c.combine_chunks() for c in table.columns])

    return header, chunks()
