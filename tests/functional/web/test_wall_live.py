"""The overview refreshes itself: whatever may change its figures (a referral, a risk area, a
case recorded or reclassified, a link made or removed, a refresh of the daily aggregates that
found something new) is a message on the live stream, and the page fetches its strip and its
panels again, saying when in server time."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.analytics import import_official, municipal_series_rows, official_csv
from tests.factories.cases import at, link, make_case
from tests.factories.clock import TZ
from tests.factories.web import log_in
from xietong.analytics import official
from xietong.analytics import service as analytics_service
from xietong.areas import service as areas_service
from xietong.cases import service as cases_service
from xietong.cases.links import service as link_service
from xietong.core.principal import SYSTEM, Role
from xietong.outbox import queue
from xietong.outbox.queue import BroadcastMessage
from xietong.people.protection import PersonalDataProtector

NOW = datetime(2022, 11, 15, 3, 0, tzinfo=UTC)


def _messages(session: Session, topic: str) -> list[BroadcastMessage]:
    return [m for m in queue.messages_after(session, after_id=0, limit=10_000) if m.topic == topic]


def _told_to(session: Session, message: BroadcastMessage) -> set[str | None]:
    """The district codes a message is for (None: the command centre)."""
    codes = areas_service.district_code_by_id(session)
    return {codes[d] if d is not None else None for d in message.audience}


def test_a_refresh_that_changes_the_aggregates_tells_every_dashboard_and_a_quiet_one_does_not(
    session: Session, protector: PersonalDataProtector
) -> None:
    make_case(session, protector, district_code="500108", detected_at=NOW - timedelta(hours=3))
    analytics_service.refresh_aggregates(session, now=NOW, tz=TZ)
    sent = _messages(session, analytics_service.AGGREGATES_REFRESHED)
    assert len(sent) == 1
    every_district = set(areas_service.district_code_by_id(session))
    assert set(sent[0].audience) == every_district | {None}
    assert all(sent[0].visible_to(d) for d in every_district)

    # Nothing recorded since: the next run recounts its recent days but has nothing to say.
    analytics_service.refresh_aggregates(session, now=NOW + timedelta(hours=1), tz=TZ)
    assert len(_messages(session, analytics_service.AGGREGATES_REFRESHED)) == 1


def test_an_import_of_published_counts_that_changes_them_is_told_to_every_dashboard(
    session: Session,
) -> None:
    import_official(session, municipal_series_rows())
    (sent,) = _messages(session, official.OFFICIAL_IMPORTED)
    assert set(sent.audience) == set(areas_service.district_code_by_id(session)) | {None}
    assert sent.payload["added"] > 0 and "2022-11-13" in sent.payload["days"]
    # The same file again, later, changes nothing and says nothing.
    official.import_official_counts(
        session,
        principal=SYSTEM,
        stream=io.StringIO(official_csv(municipal_series_rows())),
        source_name="official.csv",
        now=NOW,
    )
    assert len(_messages(session, official.OFFICIAL_IMPORTED)) == 1


def test_a_case_recorded_is_told_to_its_districts_and_the_command_centre_without_the_person(
    session: Session, protector: PersonalDataProtector
) -> None:
    case = make_case(session, protector, district_code="500108", report_district_code="500106")
    (sent,) = [m for m in _messages(session, "cases.recorded") if m.payload["case_id"] == case.id]
    codes = areas_service.district_code_by_id(session)
    assert {codes[d] for d in sent.audience if d is not None} == {"500106", "500108"}
    assert None in sent.audience
    assert not sent.visible_to(areas_service.get_district(session, code="500101").id)
    assert "person_id" not in sent.payload and "name" not in sent.payload


def test_a_link_made_and_removed_is_told_to_both_districts_and_the_command_centre(
    session: Session, protector: PersonalDataProtector
) -> None:
    source = make_case(session, protector, district_code="500106")
    target = make_case(session, protector, district_code="500108")
    link(session, source, target)
    (made,) = link_service.links_of_case(session, principal=SYSTEM, case_id=target.id)
    link_id = made.id
    link_service.delete_link(session, principal=SYSTEM, link_id=link_id, now=at())
    assert link_service.links_of_case(session, principal=SYSTEM, case_id=target.id) == []
    (linked,) = _messages(session, "cases.linked")
    (unlinked,) = _messages(session, "cases.unlinked")
    for sent in (linked, unlinked):
        assert sent.payload["link_id"] == link_id
        assert (sent.payload["source_case_id"], sent.payload["target_case_id"]) == (
            source.id,
            target.id,
        )
        assert (sent.payload["from_district"], sent.payload["to_district"]) == ("500106", "500108")
        assert sent.payload["spillover"] is True
        assert _told_to(session, sent) == {"500106", "500108", None}
        assert not sent.visible_to(areas_service.get_district(session, code="500101").id)
    assert unlinked.payload["actor"] == SYSTEM.username


def test_a_reclassification_is_told_to_the_case_districts_each_time_without_the_person(
    session: Session, protector: PersonalDataProtector
) -> None:
    case = make_case(
        session,
        protector,
        district_code="500108",
        report_district_code="500106",
        classification="asymptomatic",
    )
    # A correction on the report day, then another back: each change is its own message.
    for hour, new in ((14, "confirmed"), (16, "asymptomatic")):
        cases_service.reclassify_case(
            session,
            principal=SYSTEM,
            case_id=case.id,
            classification=new,
            at=at(hour=hour),
            tz=TZ,
        )
    sent = [m for m in _messages(session, "cases.reclassified") if m.payload["case_id"] == case.id]
    assert [(m.payload["previous"], m.payload["classification"]) for m in sent] == [
        ("asymptomatic", "confirmed"),
        ("confirmed", "asymptomatic"),
    ]
    for message in sent:
        assert _told_to(session, message) == {"500106", "500108", None}
        assert "person_id" not in message.payload and "name" not in message.payload


def test_the_overview_listens_for_every_topic_that_changes_it_and_fetches_its_panels(
    app_client: TestClient, session: Session
) -> None:
    log_in(app_client, session, role=Role.command)
    page = app_client.get("/overview?day=2022-11-13").text
    topics = re.search(r'data-live-topics="([^"]+)"', page)
    assert topics is not None
    for topic in (
        "referral.closed",
        "zones.activated",
        "zones.lifted",
        "cases.recorded",
        "cases.linked",
        "cases.unlinked",
        "cases.reclassified",
        "analytics.aggregates_refreshed",
        "analytics.official_counts_imported",
    ):
        assert topic in topics.group(1).split(",")
    stream = re.search(r'data-live-stream="([^"]+)"', page)
    assert stream is not None
    for prefix in ("referral.", "zones.", "cases.", "analytics."):
        assert f"topic={prefix}" in stream.group(1).replace("&amp;", "&")
    assert 'data-live-url="/overview/panels?day=2022-11-13"' in page
    assert 'data-live-url="/overview/strip"' in page

    panels = app_client.get("/overview/panels?day=2022-11-13")
    assert panels.status_code == 200
    assert "<html" not in panels.text
    stamp = re.search(
        r'id="overview-refreshed" data-server-now="([^"]+)"[^>]*>刷新于 ([\d\- :]+)（服务器时间）<',
        panels.text,
    )
    assert stamp is not None
    server_now = datetime.fromisoformat(stamp.group(1))
    assert stamp.group(2) == server_now.astimezone(ZoneInfo(TZ)).strftime("%Y-%m-%d %H:%M:%S")
    assert 'id="panel-phases"' in panels.text
    assert "Refreshed " in app_client.get("/overview/panels?lang=en").text
    # Without a day asked for, the live panels follow the last complete day as it moves.
    assert 'data-live-url="/overview/panels"' in app_client.get("/overview").text


def test_the_panels_need_a_session(app_client: TestClient) -> None:
    assert app_client.get("/overview/panels").status_code == 401
