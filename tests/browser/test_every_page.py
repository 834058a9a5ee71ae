"""Every page, as each role opens it, on a 390×844 phone and a 1440×900 desk: the document never
scrolls sideways, and axe-core finds no serious or critical accessibility violation.

A row's primary action, the language switch and logout stay on a phone's screen; each page's
phone picture is kept in `docs/screenshots/phone-*.png`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser.conftest import DAY, Server, User, Watched, _watch
from tests.browser.test_cluster_decision import proposed_cluster

PHONE = {"width": 390, "height": 844}
DESK = {"width": 1440, "height": 900}
VIEWPORTS = {"phone": PHONE, "desk": DESK}
# What fails the page: WCAG A/AA and best-practice rules of these impacts.
BLOCKING = ("serious", "critical")

# (who opens it, the page); `{name}` is filled from the seeded city.
PAGES = [
    ("command", f"/overview?day={DAY}"),
    ("command", "/referrals"),
    ("command", "/referrals/board"),
    ("command", "/referrals/{referral}"),
    ("command", "/referrals/new"),
    ("command", "/zones"),
    ("command", "/zones/{zone}"),
    ("command", "/resources"),
    ("command", f"/forecast?day={DAY}"),
    ("command", f"/bulletin?day={DAY}"),
    ("command", "/cases"),
    ("command", "/cases/{case}"),
    ("command", "/contacts"),
    ("command", "/quarantine"),
    ("command", "/quarantine/{order}"),
    ("command", "/clusters"),
    ("command", "/clusters/{cluster}"),
    ("command", "/screening"),
    ("command", "/screening/missed?building={building}&day={today}"),
    ("command", "/lab"),
    ("command", "/line-lists"),
    ("command", "/search?q={referral}"),
    ("command", "/persons/{person}"),
    ("command", "/users"),
    ("command", "/no-such-page"),
    ("district", "/referrals"),
    ("district", "/referrals/{referral}"),
    ("district", f"/overview?day={DAY}"),
    ("lab", "/lab"),
    ("viewer", "/zones"),
    ("anonymous", "/public/zones"),
    ("anonymous", "/login"),
]


@dataclass
class City:
    users: dict[str, User]
    ids: dict[str, str]


@pytest.fixture(scope="module")
def city(server: Server, command_centre: User) -> City:
    """The command centre's seeded city, a referral waiting in 江北区's inbox, and one user of
    each other role."""
    receiver = server.create_user("district_coordinator", "500105")
    person = server.create_person(
        command_centre, name="冯九", district="500105", current_district="500106"
    )
    pushed = server.api(
        command_centre,
        "POST",
        "/api/referrals",
        json={
            "person_id": person,
            "reason": "close_contact",
            "evidence": "流调报告 2022-1113-007",
            "from_district_code": "500106",
            "to_district_code": "500105",
        },
    )
    assert pushed.status_code == 201, pushed.text
    cases = server.api(command_centre, "GET", "/api/cases?limit=1")
    assert cases.status_code == 200, cases.text
    zones = server.api(command_centre, "GET", "/api/zones")
    assert zones.status_code == 200, zones.text
    zone_items = zones.json()["items"] if isinstance(zones.json(), dict) else zones.json()
    cluster = proposed_cluster(server, command_centre, "500110")
    case_id = cases.json()["items"][0]["id"]
    contact = server.api(
        command_centre,
        "POST",
        f"/api/cases/{case_id}/contacts",
        json={
            "person_id": server.create_person(command_centre, name="陈十", district="500110"),
            "exposure_kind": "household",
        },
    )
    assert contact.status_code == 201, contact.text
    return City(
        users={
            "command": command_centre,
            "district": receiver,
            "lab": server.create_user("lab"),
            "viewer": server.create_user("viewer"),
        },
        ids={
            "referral": str(pushed.json()["referral"]["id"]),
            "person": str(person),
            "case": str(case_id),
            "zone": str(zone_items[0]["id"]),
            "cluster": str(cluster),
            "order": str(contact.json()["quarantine_order"]["id"]),
            "building": "500106-S001-C01-B0001",
            "today": datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat(),
        },
    )


@pytest.fixture(scope="module")
def pages(browser: Any, server: Server, city: City) -> Iterator[Any]:
    """One logged-in page per (role, viewport), reused across the module's tests."""
    opened: dict[tuple[str, str], Watched] = {}
    contexts: list[Any] = []

    def get(role: str, viewport: str) -> Watched:
        if (role, viewport) not in opened:
            context = browser.new_context(viewport=VIEWPORTS[viewport], locale="zh-CN")
            contexts.append(context)
            watched = _watch(context, server.url)
            if role != "anonymous":
                watched.log_in(city.users[role])
            opened[role, viewport] = watched
        return opened[role, viewport]

    yield get
    for context in contexts:
        context.close()


def _open(watched: Watched, path: str) -> None:
    watched.goto(path)
    for figure in watched.page.locator("[data-figure]").all():
        watched.page.wait_for_selector(
            f"#{figure.get_attribute('id')}[data-rendered='1']", state="attached"
        )
    if watched.page.locator("[data-fragment-url]").count():
        watched.page.wait_for_selector("[data-fragment-url][data-loaded]", state="attached")


def _blocking_violations(watched: Watched) -> list[str]:
    results = Axe().run(watched.page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(node["target"]) for node in v["nodes"][:5])
        for v in results.response["violations"]
        if v["impact"] in BLOCKING
    ]


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize(("role", "path"), PAGES)
def test_the_page_never_scrolls_sideways_and_axe_finds_nothing_serious(
    pages: Any, city: City, role: str, path: str, viewport: str
) -> None:
    watched = pages(role, viewport)
    _open(watched, path.format(**city.ids))
    width = VIEWPORTS[viewport]["width"]
    scroll_width = watched.page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{path} is {scroll_width} px wide on a {width} px screen"
    if viewport == "phone":
        name = path.strip("/").split("?")[0].split("/")[0] or "home"
        for part in path.strip("/").split("?")[0].split("/")[1:]:
            name += "-" + ("one" if part.startswith("{") else part)
        watched.screenshot(f"phone-{role}-{name}", for_docs=True)
    assert _blocking_violations(watched) == []
    assert watched.page_errors == []


def test_on_a_phone_the_inbox_action_the_language_switch_and_logout_are_on_screen(
    pages: Any, city: City
) -> None:
    watched = pages("district", "phone")
    _open(watched, "/referrals")
    page = watched.page
    row = page.locator(f"tr[data-row-id='{city.ids['referral']}']")
    for element in (
        row.locator("button[data-action='acknowledge']"),
        page.locator(".who a.lang"),
        page.locator(".who form[action='/logout'] button"),
    ):
        box = element.bounding_box()
        assert box is not None
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    # The SLA of the row is read on the card too.
    assert row.locator(".countdown").is_visible()


@pytest.mark.parametrize(
    ("path", "opens"),
    [
        (f"/overview?day={DAY}", "/zones?district=500101"),
        ("/zones", "/zones?district=500101"),
        (
            f"/resources?resource=centralised_quarantine_bed&day={DAY}",
            f"/resources?resource=centralised_quarantine_bed&day={DAY}&district=500101#outlook",
        ),
        ("/referrals/board", "/referrals/board?district=500101#overdue"),
    ],
)
def test_a_click_on_a_district_of_a_map_opens_that_district(
    pages: Any, path: str, opens: str
) -> None:
    watched = pages("command", "desk")
    _open(watched, path)
    page = watched.page
    # The district's own shape on the map is a link: a real click, as a reader's.
    with page.expect_navigation():
        page.locator("#district-map .districts a[data-district='500101']").click()
    assert page.url.endswith(opens)
    assert page.locator("select[name=district] option[selected][value='500101']").count() == 1
