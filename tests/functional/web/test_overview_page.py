"""The overview shows the same numbers as the analytics API, draws the map and the curve from
them, and lists the points and lines of the cases domain."""

from __future__ import annotations

import re
from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.analytics import import_official, municipal_series_rows
from tests.factories.cases import make_case
from tests.factories.web import figure, log_in
from xietong.core.principal import Role
from xietong.people.protection import PersonalDataProtector

DAY = date(2022, 11, 13)


def map_rows(html: str) -> dict[str, list[str]]:
    """The district map's figures, from the table behind its toggle: code → cells by layer."""
    rows = re.findall(r'<tr data-map-row="([^"]+)"><th scope="row">[^<]*</th>(.*?)</tr>', html)
    assert rows, "no district map"
    return {code: re.findall(r'<td class="num">([^<]*)</td>', cells) for code, cells in rows}


def map_paths(html: str) -> list[tuple[str, str]]:
    """(code, classes) of each district's shape on the map (the inset draws the central nine
    again)."""
    return re.findall(r'data-district="([^"]+)"[^>]*><(?:path|circle) [^>]*class="(d [^"]*)"', html)


def test_the_overview_shows_the_trend_the_api_gives(
    app_client: TestClient, session: Session
) -> None:
    import_official(session, municipal_series_rows())
    log_in(app_client, session, role=Role.command)
    page = app_client.get(f"/overview?day={DAY.isoformat()}")
    assert page.status_code == 200
    api = app_client.get(f"/api/analytics/trend?last_day={DAY.isoformat()}").json()
    curve = figure(page.text, "epidemic-curve")
    under, surface = curve["data"][0]["y"], curve["data"][1]["y"]
    city = api["city"]["series"]
    shown = [None if u is None else u + s for u, s in zip(under, surface, strict=True)]
    assert shown == [p["cases"] for p in city]
    assert surface == [p["surface_cases"] for p in city]
    shaded = map_rows(page.text)
    for unit in api["districts"]:
        assert unit["code"] in shaded
        surface_cases = unit["series"][-1]["surface_cases"]
        assert shaded[unit["code"]][0] == (
            "未报告" if surface_cases is None else str(surface_cases)
        )
    # The busiest district's shape is in the darkest class (b4) of the first layer (l0).
    top = max(api["districts"], key=lambda u: u["series"][-1]["surface_cases"] or 0)
    assert (top["code"], "l0b4") in [(c, k.split()[1]) for c, k in map_paths(page.text)]


def test_phase_and_rt_are_read_on_the_last_complete_day(
    app_client: TestClient, session: Session
) -> None:
    import_official(session, municipal_series_rows())
    log_in(app_client, session, role=Role.command)
    page = app_client.get(f"/overview?day={DAY.isoformat()}")
    api = app_client.get(f"/api/analytics/trend?last_day={DAY.isoformat()}").json()
    busiest = max(api["districts"], key=lambda u: u["cases_last_day"])
    row = re.search(rf'data-district="{busiest["code"]}">(.*?)</tr>', page.text, re.S)
    assert row is not None
    assert f"{busiest['rt_mean']:,.2f}" in row.group(1)


def test_without_counts_the_map_is_drawn_and_the_page_says_why(
    app_client: TestClient, session: Session
) -> None:
    log_in(app_client, session, role=Role.command)
    page = app_client.get("/overview?day=2022-11-13")
    assert page.status_code == 200
    assert 'id="no-counts"' in page.text
    assert len(map_rows(page.text)) == 41
    assert all(cells[0] == "未报告" for cells in map_rows(page.text).values())


def test_a_spillover_between_districts_appears_among_the_lines(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    from tests.factories.cases import at, link

    source = make_case(session, protector, district_code="500106", detected_at=at(DAY, 9))
    target = make_case(session, protector, district_code="500108", detected_at=at(DAY, 10))
    link(session, source, target)
    log_in(app_client, session, role=Role.command)
    page = app_client.get(f"/overview?day={DAY.isoformat()}")
    assert f'data-fragment-url="/overview/coordination?day={DAY.isoformat()}"' in page.text
    panels = app_client.get(f"/overview/coordination?day={DAY.isoformat()}")
    assert "<html" not in panels.text
    lines = panels.text.split('id="panel-lines"')[1].split("</section>")[0]
    assert "沙坪坝区" in lines and "南岸区" in lines
    assert "沙坪坝区 → 南岸区" in lines


def test_a_viewer_sees_the_numbers_but_not_the_case_panels(
    app_client: TestClient, session: Session
) -> None:
    import_official(session, municipal_series_rows())
    log_in(app_client, session, role=Role.viewer)
    page = app_client.get(f"/overview?day={DAY.isoformat()}")
    assert page.status_code == 200
    panels = app_client.get(f"/overview/coordination?day={DAY.isoformat()}")
    assert "您的角色不能查看病例明细" in panels.text
    assert figure(page.text, "epidemic-curve")["data"]


def test_a_district_is_outlined_on_its_own_map(app_client: TestClient, session: Session) -> None:
    log_in(app_client, session, role=Role.district_coordinator, district_code="500106")
    paths = map_paths(app_client.get("/overview").text)
    outlined = [code for code, classes in paths if classes.endswith(" own")]
    # Outlined on the map and again in the inset of the central districts.
    assert outlined == ["500106", "500106"]


def test_the_panels_need_a_session(app_client: TestClient) -> None:
    assert app_client.get("/overview/coordination").status_code == 401
