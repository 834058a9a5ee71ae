"""The overview in a real browser: the district map and the epidemic curve render from the
server's figures, offline, with no console error; the other pages render at 1366×768."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Server, User
from tests.factories.analytics import municipal_series_rows, official_csv

DAY = "2022-11-13"
RENDER_MS = 120_000


@pytest.fixture(scope="module")
def command_centre(server: Server) -> User:
    """A command user of a city whose published counts of 1–13 November 2022 are imported,
    with a chain of cases crossing from 沙坪坝区 to 南岸区 on 13 November."""
    command = server.create_user("command")
    imported = server.api(
        command,
        "POST",
        "/api/analytics/official-counts",
        files={"file": ("official.csv", official_csv(municipal_series_rows()), "text/csv")},
    )
    assert imported.status_code == 200, imported.text
    cases = []
    for hour, (home, name) in enumerate(
        (("500106", "周一"), ("500108", "吴二"), ("500108", "郑三"))
    ):
        person_id = server.create_person(command, name=name, district=home)
        created = server.api(
            command,
            "POST",
            "/api/cases",
            json={
                "person_id": person_id,
                "classification": "confirmed",
                "detected_at": f"{DAY}T0{hour + 1}:00:00+08:00",
            },
        )
        assert created.status_code == 201, created.text
        cases.append(created.json()["id"])
    for source, target in ((cases[0], cases[1]), (cases[1], cases[2])):
        linked = server.api(
            command,
            "POST",
            "/api/cases/links",
            json={
                "source_case_id": source,
                "target_case_id": target,
                "evidence_kind": "household",
                "evidence": "同住",
            },
        )
        assert linked.status_code == 201, linked.text
    beds = {"500106": 800, "500108": 300, "500112": 650, "500113": 200, "500107": 500}
    reported = server.api(
        command,
        "POST",
        "/api/resources/capacity",
        json={
            "reports": [
                {
                    "district_code": code,
                    "code": f"QF-{code}",
                    "kind": "centralised_quarantine",
                    "name": "集中隔离点",
                    "capacity": n,
                }
                for code, n in beds.items()
            ]
        },
    )
    assert reported.status_code == 201, reported.text
    for index, district in enumerate(("500106", "500106", "500108")):
        proposed = server.api(
            command,
            "POST",
            "/api/zones/proposals",
            json={
                "building_code": f"{district}-S001-C01-B000{index + 1}",
                "reason": "社会面病例",
            },
        )
        assert proposed.status_code == 201, proposed.text
        if index < 2:
            approved = server.api(
                command, "POST", f"/api/zones/{proposed.json()['id']}/approve", json={}
            )
            assert approved.status_code == 200, approved.text
    return command


def test_the_overview_draws_its_map_and_curve_without_a_console_error(
    server: Server, open_page: Any, command_centre: User
) -> None:
    watched = open_page()
    watched.log_in(command_centre)
    watched.goto(f"/overview?day={DAY}")
    page = watched.page
    # WebGL runs in software here: a loaded machine may take a while to draw the map.
    page.wait_for_selector("#district-map[data-rendered='1']", state="attached", timeout=RENDER_MS)
    page.wait_for_selector(
        "#epidemic-curve[data-rendered='1']", state="attached", timeout=RENDER_MS
    )
    page.wait_for_selector("#panel-lines", state="attached")
    watched.screenshot("overview", for_docs=True)
    assert page.locator("#district-map canvas").count() >= 1
    assert page.locator("#epidemic-curve .barlayer .point path").count() > 0
    assert "南岸区" in page.inner_text("#panel-lines")
    assert watched.console_errors == []
    assert watched.page_errors == []


def test_the_overview_in_english(server: Server, open_page: Any, command_centre: User) -> None:
    watched = open_page("en-GB")
    watched.log_in(command_centre)
    watched.goto(f"/overview?day={DAY}&lang=en")
    watched.page.wait_for_selector(
        "#district-map[data-rendered='1']", state="attached", timeout=RENDER_MS
    )
    assert "City overview" in watched.page.inner_text("h1")
    watched.screenshot("overview-en")
    assert watched.console_errors == []


@pytest.mark.parametrize(
    "path",
    [
        "/zones",
        "/public/zones",
        "/resources",
        f"/forecast?day={DAY}",
        f"/bulletin?day={DAY}",
        "/referrals/board",
    ],
)
def test_every_command_page_renders_without_a_console_error(
    server: Server, open_page: Any, command_centre: User, path: str
) -> None:
    watched = open_page()
    watched.log_in(command_centre)
    response = watched.goto(path)
    assert response.status == 200
    for figure in watched.page.locator("[data-figure]").all():
        figure_id = figure.get_attribute("id")
        watched.page.wait_for_selector(
            f"#{figure_id}[data-rendered='1']", state="attached", timeout=RENDER_MS
        )
    name = path.strip("/").split("?")[0].replace("/", "-")
    watched.screenshot(name)
    assert watched.console_errors == []
    assert watched.page_errors == []
