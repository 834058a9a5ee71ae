"""Tube files are read by Arrow where that reads them exactly as the csv module does, and by the
csv module elsewhere: either way every record and every line number is the same."""

from __future__ import annotations

import io

from hypothesis import example, given, settings
from hypothesis import strategies as st

from xietong.screening.parsing import Columns, read_chunks, read_column_chunks

HEADER = "tube_code,site_code,collected_at,pool_size,person_id\n"
REQUIRED = ["tube_code", "site_code", "collected_at", "pool_size", "person_id"]


def as_read(text: str, *, size: int) -> tuple[list[tuple[int, list[str]]], set[str]]:
    """(line, record) pairs of a file, and which kinds of chunk carried them."""
    _, chunks = read_column_chunks(io.StringIO(text, newline=""), size=size, required=REQUIRED)
    pairs: list[tuple[int, list[str]]] = []
    kinds: set[str] = set()
    for lines, records in chunks:
        kinds.add("columns" if isinstance(records, Columns) else "lists")
        rows = records.as_rows() if isinstance(records, Columns) else records
        pairs += list(zip(lines.tolist(), rows, strict=True))
    return pairs, kinds


def as_the_csv_module_reads(text: str) -> list[tuple[int, list[str]]]:
    _, chunks = read_chunks(io.StringIO(text, newline=""), size=3, required=REQUIRED)
    return [pair for lines, rows in chunks for pair in zip(lines.tolist(), rows, strict=True)]


def tube(k: int) -> str:
    return f"T{k // 10},S1,2022-11-15T08:00:00+08:00,10,{k}\n"


def test_a_plain_file_is_read_column_by_column_with_its_line_numbers() -> None:
    text = HEADER + "".join(tube(k) for k in range(25))
    pairs, kinds = as_read(text, size=4)
    assert kinds == {"columns"}
    assert pairs == as_the_csv_module_reads(text)
    assert pairs[0] == (2, ["T0", "S1", "2022-11-15T08:00:00+08:00", "10", "0"])
    assert pairs[-1][0] == 26


def test_blank_lines_short_records_and_a_missing_last_newline_keep_their_lines() -> None:
    text = HEADER + tube(1) + "\n" + tube(2) + "T9,S1\n" + tube(3) + tube(4).rstrip("\n")
    pairs, kinds = as_read(text, size=100)
    assert kinds == {"lists"}
    assert pairs == as_the_csv_module_reads(text)
    assert [line for line, _ in pairs] == [2, 3, 4, 5, 6, 7]


def test_after_a_quote_the_rest_is_read_by_the_csv_module_even_across_lines() -> None:
    text = HEADER + "".join(tube(k) for k in range(12)) + 'T9,"S\n1",x,10,1\n' + tube(13)
    pairs, kinds = as_read(text, size=5)
    assert pairs == as_the_csv_module_reads(text)
    assert kinds == {"columns", "lists"}
    assert pairs[-1][0] == 16  # the quoted record spans lines 14 and 15


def test_windows_line_ends_read_alike() -> None:
    text = (HEADER + "".join(tube(k) for k in range(5))).replace("\n", "\r\n")
    pairs, kinds = as_read(text, size=100)
    assert kinds == {"columns"}
    assert pairs == as_the_csv_module_reads(text)


FIELD = st.text(alphabet=st.sampled_from(list('ab1 ,"\r\n')), max_size=4)


@settings(max_examples=300)
@given(
    records=st.lists(st.lists(FIELD, min_size=1, max_size=6), max_size=12),
    size=st.integers(min_value=1, max_value=8),
    glue=st.sampled_from(["\n", "\r\n", "\r"]),
)
# A quote left open at the end: the record ends on the file's last line, not after its value's.
@example(records=[['"""'], ['"', '\r"']], size=1, glue="\n")
def test_any_file_reads_as_the_csv_module_reads_it(
    records: list[list[str]], size: int, glue: str
) -> None:
    text = HEADER + "".join(",".join(record) + glue for record in records)
    assert as_read(text, size=size)[0] == as_the_csv_module_reads(text)
