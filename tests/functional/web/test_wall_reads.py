"""Each view of the overview (and of its strip and panels), of the referral board and of the
risk-area page reads the risk areas and the referrals waiting on someone once: the strip's tiles,
the map's layers and the lists' totals come from that one read, and are the totals of the lists
they open."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.clock import TZ
from tests.factories.referrals import RECEIVER, SENDER, THIRD, district_id, make_referral
from tests.factories.web import log_in, statements
from tests.factories.zones import area, building
from xietong.core.principal import Principal, Role
from xietong.core.wallclock import SystemClock
from xietong.people.protection import PersonalDataProtector
from xietong.referrals.inbox import service as query_service
from xietong.referrals.tasks import escalate_overdue

# The overdue clause of the referrals' lists (a deadline passed), as the statement spells it.
OVERDUE_READ = "referrals_referral.acknowledge_due_at < "


def reading_areas(sent: list[str]) -> list[str]:
    return [s for s in sent if re.search(r"FROM zones_risk_area(\s|\)|$)", s)]


def reading_overdue(sent: list[str]) -> list[str]:
    return [s for s in sent if OVERDUE_READ in s]


def tile(html: str, name: str) -> int:
    found = re.search(rf'id="(?:strip|tile)-{name}"[^>]*><b>([\d,]+)</b>', html)
    assert found is not None, f"no {name} tile"
    return int(found.group(1).replace(",", ""))


def row_ids(html: str) -> set[int]:
    return {int(n) for n in re.findall(r'data-row-id="(\d+)"', html)}


def listed(client: TestClient, box: str, district: str | None = None) -> set[int]:
    """The referrals of a box of the inbox's list (the table alone), of a district if named."""
    query = f"box={box}&status=open&limit=100" + (f"&district={district}" if district else "")
    return row_ids(client.get(f"/referrals/rows?{query}").text)


@pytest.fixture
def waiting(session: Session, protector: PersonalDataProtector) -> None:
    """Referrals overdue (one escalated), due within the hour and on time; areas proposed,
    awaiting their lifting, locked and lifted in two districts."""
    now = SystemClock().now()
    make_referral(session, protector)  # pushed in November 2022: long overdue
    make_referral(session, protector, from_code=THIRD, at=now - timedelta(hours=3))
    make_referral(session, protector, to_code=THIRD, from_code=RECEIVER)
    escalate_overdue(session, now=now - timedelta(hours=2), tz=TZ)
    make_referral(session, protector, at=now - timedelta(minutes=30))  # due within the hour
    make_referral(session, protector, at=now - timedelta(minutes=1))  # acknowledged in time
    for k, status in enumerate(("proposed", "lifting_proposed", "active", "lifted", "proposed")):
        area(session, building(session, RECEIVER, k), status=status)
        area(session, building(session, SENDER, k), status=status)


@pytest.mark.usefixtures("waiting")
@pytest.mark.parametrize(
    ("role", "district", "path"),
    [
        (Role.command, None, "/overview"),
        (Role.command, None, "/overview/panels"),
        (Role.command, None, "/overview/strip"),
        (Role.district_coordinator, RECEIVER, "/overview"),
        (Role.district_coordinator, RECEIVER, "/overview/strip"),
    ],
)
def test_a_view_of_the_overview_reads_the_areas_and_the_overdue_referrals_once(
    app_client: TestClient, session: Session, role: Role, district: str | None, path: str
) -> None:
    log_in(app_client, session, role=role, district_code=district)
    with statements(session) as sent:
        page = app_client.get(path)
    assert page.status_code == 200
    assert len(reading_areas(sent)) == 1, reading_areas(sent)
    assert len(reading_overdue(sent)) == 1, reading_overdue(sent)
    if path == "/overview/panels":
        return  # the figures below the strip
    # The tiles are the totals of the lists they open, within the viewer's jurisdiction.
    reader = Principal(
        0, "reader", role, None if district is None else district_id(session, district)
    )
    for name, box in (("overdue", "overdue"), ("escalated", "escalated"), ("due-soon", "due_soon")):
        _, total = query_service.list_referrals(
            session, principal=reader, now=SystemClock().now(), box=box, audited=False
        )
        assert tile(page.text, name) == total, name
    awaiting = 6 if district is None else 3  # proposed twice and one lifting, per district
    assert tile(page.text, "approvals") == awaiting


@pytest.mark.usefixtures("waiting")
def test_the_overviews_map_counts_the_areas_locked_on_the_day_and_the_overdue_by_district(
    app_client: TestClient, session: Session
) -> None:
    log_in(app_client, session, role=Role.command)
    page = app_client.get("/overview").text
    # Locked on the day shown (yesterday): the active area and the one awaiting its lifting;
    # overdue by receiving district.
    for code, locked, overdue in ((RECEIVER, "2", "2"), (SENDER, "2", "0"), (THIRD, "0", "1")):
        row = re.search(rf'<tr data-map-row="{code}"><th scope="row">[^<]*</th>(.*?)</tr>', page)
        assert row is not None, code
        cells = re.findall(r'<td class="num">([^<]*)</td>', row.group(1))
        assert cells[1:] == [locked, overdue], code


@pytest.mark.usefixtures("waiting")
@pytest.mark.parametrize("district", [None, THIRD, RECEIVER])
def test_the_board_counts_its_tiles_and_its_list_in_the_one_read_of_its_pairs(
    app_client: TestClient, session: Session, district: str | None
) -> None:
    log_in(app_client, session, role=Role.command)
    with statements(session) as sent:
        board = app_client.get(
            "/referrals/board?limit=100" + (f"&district={district}" if district else "")
        )
    # The pairs, then the page of overdue referrals shown: no list is counted on its own.
    assert len(reading_overdue(sent)) == 2
    assert not [s for s in sent if s.startswith("SELECT count(*)")]
    shown = row_ids(board.text.split('id="overdue"')[1])
    assert shown == listed(app_client, "overdue", district)
    assert f"共 {len(shown)} 条" in board.text
    for name, box in (("overdue", "overdue"), ("escalated", "escalated"), ("due-soon", "due_soon")):
        assert tile(board.text, name) == len(listed(app_client, box)), name


@pytest.mark.usefixtures("waiting")
@pytest.mark.parametrize(
    ("role", "district"), [(Role.district_coordinator, RECEIVER), (Role.command, None)]
)
def test_the_risk_area_page_totals_its_lists_with_the_counts_of_its_map(
    app_client: TestClient, session: Session, role: Role, district: str | None
) -> None:
    log_in(app_client, session, role=role, district_code=district)
    with statements(session) as sent:
        page = app_client.get("/zones?limit=100")
    # The open areas counted by district and status (the map, the totals), the page of the
    # list and the proposals awaiting a decision: no list is counted on its own.
    assert len(reading_areas(sent)) == 3, reading_areas(sent)
    assert not [s for s in reading_areas(sent) if s.startswith("SELECT count(*) AS")]
    awaiting = 6 if district is None else 3
    assert f"· {awaiting}</h2>" in page.text
    # Open in each of two districts: proposed twice, awaiting a lifting and locked.
    assert "共 8 条" in page.text
    assert len(re.findall(r'data-area-id="\d+"', page.text.split('id="areas"')[1])) == 8
    for status, total in (("all", 10), ("lifted", 2), ("proposed", 4)):
        assert f"共 {total} 条" in app_client.get(f"/zones?status={status}&limit=100").text
    assert "共 4 条" in app_client.get(f"/zones?district={SENDER}&limit=100").text
