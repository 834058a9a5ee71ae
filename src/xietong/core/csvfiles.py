"""Reading CSV files record by record with line numbers, and writing the rejected records back.

Shared by every bulk import (areas, persons, tubes, results): the header is checked once, each
record comes with its line number so that an error can name it, and rejects keep their reason.
"""

from __future__ import annotations

import csv
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
    for record in reader:
        line = reader.line_num
        if not record or all(not v.strip() for v in record):
            continue
        if len(record) != width:
            yield line, {"__width__": f"{len(record)} fields, header has {width}"}
            continue
        yield line, {name: value.strip() for name, value in zip(header, record, strict=True)}


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
            self._handle = self.path.open("w", newline="", encoding="utf-8")
            self._writer = csv.DictWriter(
                self._handle, fieldnames=["line", *self._columns, "errors"], extrasaction="ignore"
            )
            self._writer.writeheader()
        self._writer.writerow(
            {
                "line": line,
                **record,
                "errors": "; ".join(f"{e.field}: {e.reason}" for e in errors),
            }
        )
        self.count += 1

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
