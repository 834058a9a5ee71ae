"""Reading what laboratories and sampling teams send: outcomes in English or Chinese, Ct values,
local times without offset, and the header rules of the positional reader."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from xietong.core.errors import ValidationFailed
from xietong.screening.parsing import BadValue, parse_ct, parse_instant, parse_outcome, read_rows

NOW = datetime(2022, 11, 15, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "outcome"),
    [
        ("negative", "negative"),
        ("Positive", "positive"),
        ("阴性", "negative"),
        ("陽性", "positive"),
        ("无效", "invalid"),
        (" invalid ", "invalid"),
    ],
)
def test_outcomes_are_read_in_english_and_chinese(text: str, outcome: str) -> None:
    assert parse_outcome(text) == outcome


def test_an_unknown_outcome_names_the_accepted_words() -> None:
    with pytest.raises(BadValue, match="negative, positive or invalid"):
        parse_outcome("maybe")


@pytest.mark.parametrize("text", ["0", "51", "abc", "nan", "-3"])
def test_a_ct_value_outside_zero_to_fifty_is_refused(text: str) -> None:
    with pytest.raises(BadValue):
        parse_ct(text)


def test_an_absent_ct_value_is_none() -> None:
    assert parse_ct("") is None and parse_ct("-") is None and parse_ct("31.5") == 31.5


def test_a_time_without_offset_is_local_time_of_the_deployment() -> None:
    at = parse_instant("2022-11-15 08:30:00", tz="Asia/Shanghai", now=NOW)
    assert at == datetime(2022, 11, 15, 0, 30, tzinfo=UTC)
    assert parse_instant("2022-11-15T00:30:00Z", tz="Asia/Shanghai", now=NOW) == at


def test_a_time_in_the_future_is_refused() -> None:
    with pytest.raises(BadValue, match="future"):
        parse_instant("2022-11-16T08:00:00+08:00", tz="Asia/Shanghai", now=NOW)


def test_the_reader_lists_missing_and_unknown_columns_at_once() -> None:
    with pytest.raises(ValidationFailed) as refused:
        read_rows(
            io.StringIO("tube_code,colour\n"),
            required=["tube_code", "result"],
            one_of=[("person_id", "national_id")],
        )
    fields = {e.field for e in refused.value.errors}
    assert fields == {"result", "colour", "person_id/national_id"}


def test_the_reader_yields_line_numbers_and_flags_a_record_of_the_wrong_width() -> None:
    header, rows = read_rows(io.StringIO("a,b\n1,2\n\n3\n4,5\n"), required=["a", "b"])
    assert header.at("b") == 1
    assert list(rows) == [(2, ["1", "2"]), (4, []), (5, ["4", "5"])]
