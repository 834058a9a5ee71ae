"""The resources page plans on the forecast page's numbers and keeps them as that page does:
under the daily series of the forecast's history, so that a view of an unchanged series reads
no reporting delays, and a changed series is read again."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.cases import at, growing_cases_recorded_late, make_case
from tests.factories.clock import TZ
from tests.factories.web import log_in, statements
from xietong.analytics import service as analytics_service
from xietong.core.principal import Role
from xietong.mutual_aid.outlook.service import demand_read, outlook
from xietong.mutual_aid.schemas import DemandInputs, DemandRead
from xietong.people.protection import PersonalDataProtector
from xietong.web import memo
from xietong.web.pages.resources import OUTLOOK_DAYS, outlook_read

DAY = date(2022, 11, 13)
DISTRICT = "500106"
PAGE = f"/resources?day={(DAY + timedelta(days=1)).isoformat()}"


def reading_delays(sent: list[str]) -> list[str]:
    # The reporting delays are counted per case in a common table of that name.
    return [s for s in sent if "per_case" in s]


def read_afresh(session: Session) -> DemandRead:
    """The outlook of the first planning day with its history read (no key to keep it by)."""
    first_day = DAY + timedelta(days=1)
    view = outlook(session, first_day=first_day, days=OUTLOOK_DAYS, inputs=DemandInputs(), tz=TZ)
    return demand_read(view)


def test_a_view_of_an_unchanged_series_reads_no_reporting_delays(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    # Nothing kept by an earlier test of the same series (on the other backend, say).
    memo.forget()
    growing_cases_recorded_late(session, protector, district_code=DISTRICT)
    analytics_service.refresh_aggregates(session, now=at(DAY + timedelta(days=3), 1), tz=TZ)
    log_in(app_client, session, role=Role.command)
    with statements(session) as sent:
        assert app_client.get(PAGE).status_code == 200
    assert reading_delays(sent) != []

    with statements(session) as sent:
        assert app_client.get(PAGE).status_code == 200
    assert reading_delays(sent) == []
    kept = outlook_read(session, first_day=DAY + timedelta(days=1), tz=TZ)
    assert kept.demand_source == "growth_recalibrated"
    assert kept == read_afresh(session)

    # A case more, counted by a refresh of the aggregates: another series, read again.
    make_case(
        session,
        protector,
        district_code=DISTRICT,
        detected_at=at(DAY - timedelta(days=1), 10),
        recorded_at=at(DAY, 15),
    )
    analytics_service.refresh_aggregates(
        session, now=at(DAY + timedelta(days=3), 2), tz=TZ, full=True
    )
    with statements(session) as sent:
        assert app_client.get(PAGE).status_code == 200
    assert reading_delays(sent) != []
    changed = outlook_read(session, first_day=DAY + timedelta(days=1), tz=TZ)
    assert changed == read_afresh(session)
    assert changed.new_cases != kept.new_cases
