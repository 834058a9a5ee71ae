"""The bulk path stores what it is given: each instant as its UTC time whatever zone it came in,
each day as itself, however often a value repeats across the rows of one load."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, Column, Date, MetaData, Table, select
from sqlalchemy.orm import Session

from xietong.storage.base import UTCDateTime
from xietong.storage.bulk import bulk_insert

CHONGQING = ZoneInfo("Asia/Shanghai")


def _stamps(session: Session) -> Table:
    table = Table(
        "bulk_stamps",
        MetaData(),
        Column("id", BigInteger, primary_key=True),
        Column("at", UTCDateTime, nullable=False),
        Column("day", Date, nullable=False),
        prefixes=["TEMPORARY"],
    )
    table.create(session.connection())
    return table


def test_one_instant_in_two_zones_and_many_distinct_instants_are_each_stored_as_utc(
    session: Session,
) -> None:
    table = _stamps(session)
    noon_utc = datetime(2022, 11, 30, 4, tzinfo=UTC)
    noon_local = noon_utc.astimezone(CHONGQING)
    # The same instant repeated in both zones, then more distinct instants than are remembered.
    rows = [(i, noon_utc if i % 2 else noon_local, date(2022, 11, 30)) for i in range(1, 101)]
    rows += [
        (i, noon_utc + timedelta(seconds=i), date(2022, 11, 1) + timedelta(days=i % 30))
        for i in range(101, 6_101)
    ]
    assert bulk_insert(session, table, ["id", "at", "day"], rows) == len(rows)

    stored = {i: (at, day) for i, at, day in session.execute(select(table)).all()}
    assert stored == {i: (at.astimezone(UTC), day) for i, at, day in rows}
