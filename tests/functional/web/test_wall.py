"""The overview as a wall display: a strip of what waits on someone (overdue, escalated and
soon-due referrals, risk-area decisions), each the total of the list it opens, fetched again by
the page whenever a referral changes."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.analytics import import_official, municipal_series_rows
from tests.factories.auth import make_user
from tests.factories.referrals import RECEIVER, make_referral
from tests.factories.web import PASSWORD, log_in
from xietong.core.principal import Role
from xietong.people.protection import PersonalDataProtector


def tile(html: str, name: str) -> int:
    found = re.search(rf'id="strip-{name}"[^>]*><b>([\d,]+)</b>', html)
    assert found is not None, f"no {name} tile"
    return int(found.group(1).replace(",", ""))


def test_the_overview_shows_the_overdue_referrals_of_the_jurisdiction_and_refreshes_live(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    make_referral(session, protector)  # pushed in November 2022: long overdue now
    log_in(app_client, session, role=Role.command)
    page = app_client.get("/overview?day=2022-11-13")
    assert tile(page.text, "overdue") == 1
    assert 'data-live-url="/overview/strip"' in page.text
    assert 'data-live-topics="referral.' in page.text
    assert tile(app_client.get("/overview/strip").text, "overdue") == 1

    log_in(app_client, session, role=Role.district_coordinator, district_code=RECEIVER)
    assert tile(app_client.get("/overview?day=2022-11-13").text, "overdue") == 1
    log_in(app_client, session, role=Role.district_coordinator, district_code="500101")
    assert tile(app_client.get("/overview?day=2022-11-13").text, "overdue") == 0


def test_a_viewer_sees_no_strip_of_referrals(app_client: TestClient, session: Session) -> None:
    log_in(app_client, session, role=Role.viewer)
    page = app_client.get("/overview?day=2022-11-13")
    assert page.status_code == 200
    assert 'id="work-strip"' not in page.text


def test_a_district_coordinator_sees_the_districts_own_figures_first(
    app_client: TestClient, session: Session
) -> None:
    import_official(session, municipal_series_rows())
    log_in(app_client, session, role=Role.district_coordinator, district_code="500106")
    page = app_client.get("/overview?day=2022-11-13")
    assert page.status_code == 200
    own = page.text.index('id="own-district" data-district="500106"')
    assert own < page.text.index('class="filters"'), "the district's figures come first"


@pytest.mark.parametrize(
    ("role", "district", "landing"),
    [
        (Role.command, None, "/overview"),
        (Role.viewer, None, "/overview"),
        (Role.district_coordinator, "500106", "/referrals"),
        (Role.field_worker, "500106", "/referrals"),
        (Role.lab, None, "/lab"),
    ],
)
def test_each_user_lands_on_the_page_of_their_daily_work(
    app_client: TestClient, session: Session, role: Role, district: str | None, landing: str
) -> None:
    principal, _ = make_user(session, role=role, district_code=district, password=PASSWORD)
    response = app_client.post(
        "/login",
        data={"username": principal.username, "password": PASSWORD},
        follow_redirects=False,
    )
    assert response.headers["location"] == landing
    assert app_client.get("/", follow_redirects=False).headers["location"] == landing
    assert app_client.get(landing).status_code == 200


def test_a_district_reaches_its_own_overview_from_its_inbox_in_one_click(
    app_client: TestClient, session: Session
) -> None:
    import_official(session, municipal_series_rows())
    log_in(app_client, session, role=Role.district_coordinator, district_code="500106")
    inbox = app_client.get("/referrals")
    link = re.search(r'<a href="([^"]+)" id="district-overview">([^<]+)</a>', inbox.text)
    assert link is not None
    assert link.group(2) == "沙坪坝区态势"
    assert link.group(1) == "/overview#own-district"
    overview = app_client.get(link.group(1).split("#")[0])
    assert 'id="own-district" data-district="500106"' in overview.text
    english = app_client.get("/referrals?lang=en").text
    assert ">Shapingba District overview</a>" in english
    log_in(app_client, session, role=Role.command)
    assert 'id="district-overview"' not in app_client.get("/referrals").text


def _map_row(html: str, code: str) -> list[str]:
    row = re.search(rf'<tr data-map-row="{code}"><th scope="row">[^<]*</th>(.*?)</tr>', html)
    assert row is not None, code
    return re.findall(r'<td class="num">([^<]*)</td>', row.group(1))


def test_the_map_layers_count_the_areas_locked_on_the_day_and_the_referrals_overdue_now(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    from tests.factories.zones import NOV, area, building

    make_referral(session, protector)  # to 南岸区, long overdue now
    area(session, building(session, RECEIVER, 0), active_from=NOV[12])
    log_in(app_client, session, role=Role.command)
    page = app_client.get("/overview?day=2022-11-13").text
    for key in ("surface", "zones", "overdue"):
        assert f'id="map-layer-{key}"' in page
    assert _map_row(page, RECEIVER)[1:] == ["1", "1"]
    assert _map_row(page, "500101")[1:] == ["0", "0"]
    # Before the area was locked, the layer of risk areas shows none.
    assert _map_row(app_client.get("/overview?day=2022-11-11").text, RECEIVER)[1] == "0"
    labels = re.findall(r'<text [^>]*data-label="([^"]+)">([^<]+)</text>', page)
    assert len(labels) == 41 and len({code for code, _ in labels}) == 41
    assert 'id="map-inset"' in page
    english = app_client.get("/overview?day=2022-11-13&lang=en").text
    assert ">Nan'an</text>" in english.replace("&#39;", "'")
    assert "Overdue referrals (now)" in english

    log_in(app_client, session, role=Role.viewer)
    viewer_page = app_client.get("/overview?day=2022-11-13").text
    assert 'id="map-layer-overdue"' not in viewer_page
    assert _map_row(viewer_page, RECEIVER)[1] == "1"
