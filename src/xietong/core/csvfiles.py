"""Reading CSV files record by record with line numbers, and writing the rejected records back.

Shared by every bulk import (areas, persons, tubes, results): the header is checked once, each
record comes with its line number so that an error can name it, and rejects keep their reason.
Every CSV the system writes goes through `escape_cell`, so that no cell opens as a formula in a
spreadsheet; a rejects file holds no plain national ID, name or phone and is readable by its
owner only.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

from xietong.core.errors import RowError, ValidationFailed


def read_records(
    stream: TextIO, *, required: Iterable[str], optional: Iterable[str] = ()
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, record) with values stripped; refuse a header that lacks a column."""
    reader = csv.reader(stream)
    try:
        header = [h.strip().lstrip("\ufeff") for h in next(reader)]
    except StopIteration:
        raise ValidationFailed(
            errors=[RowError("line 1", "header", "the file is empty")], summary="file refused"
        ) from None
    required = list(required)
    known = set(required) | set(optional)
    problems = [
        RowError("line 1", name, "required column is missing")
        for name in required
        if name not in header
    ]
    problems += [
        RowError("line 1", name, f"unknown column (expected some of {sorted(known)})")
        for name in header
        if name not in known
    ]
    if problems:
        raise ValidationFailed(errors=problems, summary="file refused")
    width = len(header)
    try:
        for record in reader:
            line = reader.line_num
            if not record or all(not v.strip() for v in record):
                continue
            if len(record) != width:
                yield line, {"__width__": f"{len(record)} fields, header has {width}"}
                continue
            yield line, {name: value.strip() for name, value in zip(header, record, strict=True)}
    except csv.Error as exc:
        # A field past the csv module's limit, or a NUL: the file cannot be read past here.
        raise ValidationFailed(
            errors=[RowError(f"line {reader.line_num}", "record", f"unreadable: {exc}")],
            summary="file refused",
        ) from None


# Cells a spreadsheet would run as a formula (OWASP "CSV injection"), and control characters
# some of them also treat so.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Personal columns a rejects file must not carry in plain: the ID is masked, the others dropped.
_MASKED_COLUMNS = frozenset({"national_id"})
_DROPPED_COLUMNS = frozenset({"name", "phone"})


def escape_cell(value: object) -> str:
    """A cell's text, prefixed with `'` when a spreadsheet would take it for a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _masked(value: str) -> str:
    keep = 4 if len(value) >= 12 else 1
    return value[:keep] + "*" * max(len(value) - 2 * keep, 0) + value[-keep:] if value else ""


def open_private(path: Path) -> TextIO:
    """A new text file readable and writable by its owner only (mode 600)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.chmod(path, 0o600)  # an existing file keeps its mode through O_CREAT
    return os.fdopen(descriptor, "w", newline="", encoding="utf-8")


class RejectsWriter:
    """Writes rejected records with their line number and reasons, for the sender to fix."""

    def __init__(self, path: Path, columns: list[str]) -> None:
        self.path = path
        self._columns = columns
        self._handle: TextIO | None = None
        self._writer: csv.DictWriter[str] | None = None
        self.count = 0

    def write(self, line: int, record: dict[str, str], errors: list[RowError]) -> None:
        if self._writer is None:
            self._handle = open_private(self.path)
            self._writer = csv.DictWriter(
                self._handle, fieldnames=["line", *self._columns, "errors"], extrasaction="ignore"
            )
            self._writer.writeheader()
        cells = {
            name: _masked(value)
            if name in _MASKED_COLUMNS
            else ""
            if name in _DROPPED_COLUMNS
            else value
            for name, value in record.items()
        }
        self._writer.writerow(
            {
                name: escape_cell(value)
                for name, value in {
                    "line": line,
                    **cells,
                    "errors": "; ".join(f"{e.field}: {e.reason}" for e in errors),
                }.items()
            }
        )
        self.count += 1

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
