"""Reading tube records: each tube from its first row, the round as the local day of collection
(also for times read from a minute seen before), and rows that disagree with their tube refused —
the same whether the records are held as lists or column by column (`Columns`)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pyarrow as pa
import pytest

from xietong.screening.parsing import Columns, Header
from xietong.screening.sampling.tube_rows import TUBE_COLUMNS, Draft, Rows, TubeReader

NOW = datetime(2022, 11, 16, 4, 0, tzinfo=UTC)
HEADER = Header({name: i for i, name in enumerate(TUBE_COLUMNS[:5])}, 5)


def reader() -> TubeReader:
    return TubeReader(
        header=HEADER,
        sites={"S1": (1, 3, None)},
        district_id=None,
        tz="Asia/Shanghai",
        now=NOW,
        building_index=dict,
    )


@pytest.fixture(params=["lists", "columns"], autouse=True)
def held_as(request: pytest.FixtureRequest) -> str:
    global HELD_AS
    HELD_AS = request.param
    return HELD_AS


HELD_AS = "lists"


def read(*rows: list[str]) -> tuple[Rows, list[Draft]]:
    records: list[list[str]] | Columns = list(rows)
    if HELD_AS == "columns":
        records = Columns(
            [pa.array(list(column), pa.string()) for column in zip(*rows, strict=True)]
        )
    chunk = Rows(lines=np.arange(2, 2 + len(rows)), rows=records, label=lambda n: f"line {n}")
    drafts = list(reader().drafts(chunk))
    chunk.pids = reader().person_ids(chunk)
    return chunk, drafts


@pytest.mark.parametrize(
    ("collected_at", "round_day"),
    [
        ("2022-11-15T23:59:59+08:00", date(2022, 11, 15)),
        ("2022-11-15T23:59:30.25+08:00", date(2022, 11, 15)),
        ("2022-11-14T16:00:30+00:00", date(2022, 11, 15)),  # 00:00:30 in Chongqing
        ("2022-11-15 08:00:00", date(2022, 11, 15)),  # local time without offset
        ("2022-11-15T00:00:00Z", date(2022, 11, 15)),
    ],
)
def test_the_round_is_the_local_day_of_collection(collected_at: str, round_day: date) -> None:
    _, drafts = read(["T1", "S1", collected_at, "10", "1"])
    assert [(d.round_day, d.errors) for d in drafts] == [(round_day, [])]


def test_times_of_one_minute_keep_their_seconds() -> None:
    _, drafts = read(
        ["T1", "S1", "2022-11-15T08:30:05+08:00", "10", "1"],
        ["T2", "S1", "2022-11-15T08:30:59+08:00", "10", "2"],
    )
    assert [d.collected_at for d in drafts] == [
        datetime(2022, 11, 15, 0, 30, 5, tzinfo=UTC),
        datetime(2022, 11, 15, 0, 30, 59, tzinfo=UTC),
    ]


@pytest.mark.parametrize(
    ("collected_at", "reason"),
    [
        ("2022-11-15T08:00:61+08:00", "not a date and time"),
        ("yesterday", "not a date and time"),
        ("2022-11-17T08:00:00+08:00", "lies in the future"),
    ],
)
def test_a_bad_time_is_the_tubes_error(collected_at: str, reason: str) -> None:
    _, drafts = read(["T1", "S1", collected_at, "10", "1"])
    assert [(e[0], e[1].split(" (")[0]) for e in drafts[0].errors] == [("collected_at", reason)]


def test_rows_of_one_tube_that_disagree_are_refused_and_a_tube_may_come_back() -> None:
    chunk, drafts = read(
        ["T1", "S1", "2022-11-15T08:00:00+08:00", "10", "1"],
        ["T2", "S1", "2022-11-15T08:01:00+08:00", "10", "2"],
        ["T1", "S1", "2022-11-15T08:00:00+08:00", "10", "3"],
        ["T1", "S1", "2022-11-15T08:00:00+08:00", "5", "4"],
    )
    assert [d.code for d in drafts] == ["T1", "T2"]
    assert chunk.tix.tolist() == [0, 1, 0, 0]
    assert chunk.ok.tolist() == [True, True, True, False]
    assert chunk.bad[3][0].record == "line 5"
    assert "first row (line 2)" in chunk.bad[3][0].reason


def test_an_unknown_site_and_a_pool_over_the_limit_are_named() -> None:
    _, drafts = read(["T1", "S9", "2022-11-15T08:00:00+08:00", "21", "1"])
    assert sorted(e[0] for e in drafts[0].errors) == ["pool_size", "site_code"]
