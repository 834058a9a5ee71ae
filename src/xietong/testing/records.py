"""Reading the values laboratories and sampling teams send: outcomes, Ct values, instants, and a
positional CSV reader for the files that carry millions of rows a day.

`xietong.core.csvfiles.read_records` builds one dict per record; at ten million swabs a day that
alone would take longer than loading them, so the tube and result files are read by position
with the same header rules (missing required column, unknown column, wrong number of fields).
No database here.
"""

from __future__ import annotations

import csv
import itertools
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TextIO
from zoneinfo import ZoneInfo

import numpy as np

from xietong.core.errors import RowError, ValidationFailed

# Clocks of sampling devices and laboratory systems drift; a little future is tolerated.
CLOCK_SKEW = timedelta(minutes=15)

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


# Line numbers (of each record's last line) and the records of one chunk.
Chunk = tuple[np.ndarray, list[list[str]]]
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


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
) -> tuple[Header, Iterator[Chunk]]:
    """The file's header and its records in chunks of (line numbers, records), as they are.

    For the columnar paths: the csv module builds the records of a chunk in one call and the
    line numbers are worked out per chunk, not per record (records of the wrong width, blank
    ones included, are left for the caller to sort out).
    """
    reader = csv.reader(stream)
    header = read_header(reader, required=required, optional=optional, one_of=one_of)

    def chunks() -> Iterator[Chunk]:
        while True:
            start = reader.line_num
            rows = list(itertools.islice(reader, size))
            if not rows:
                return
            if reader.line_num - start == len(rows):
                yield np.arange(start + 1, reader.line_num + 1, dtype=np.int64), rows
                continue
            # Some record spans lines (a quoted line break): count them to name lines right.
            spans = [1 + sum(len(_LINE_BREAK.findall(v)) for v in row) for row in rows]
            yield start + np.cumsum(np.asarray(spans, dtype=np.int64)), rows

    return header, chunks()
