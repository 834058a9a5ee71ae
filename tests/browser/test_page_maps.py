"""The mutual-aid page's map in a real browser: the plan's aid drawn as arrows (in the inset
between central districts, on the main map otherwise) that a tick box hides, layers that
recolour the districts, and the transfers in the table behind the toggle."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tests.browser.conftest import Server, User


def test_the_plans_aid_is_drawn_as_arrows_that_a_tick_box_hides(
    server: Server, open_page: Any, command_centre: User
) -> None:
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    # 大渡口 and 綦江 have no beds of their own in the seeded city; their neighbours have.
    proposed = server.api(
        command_centre,
        "POST",
        "/api/resources/plan",
        json={
            "first_day": today,
            "days": 1,
            "forecast_new_cases": {},
            "new_contacts": {"500104": [120], "500110": [60]},
            "planned_tubes": {},
            "in_use": {},
        },
    )
    assert proposed.status_code in (200, 201), proposed.text
    plan = proposed.json()
    try:
        moved = {
            (t["to_district_code"], t["from_district_code"])
            for t in plan["transfers"]
            if t["resource"] == "centralised_quarantine_bed"
        }
        assert any(borrower == "500104" for _, borrower in moved), plan["transfers"]
        watched = open_page()
        watched.page.set_viewport_size({"width": 1440, "height": 900})
        watched.log_in(command_centre)
        watched.goto(f"/resources?resource=centralised_quarantine_bed&day={today}")
        page = watched.page
        arrows = page.locator("#district-map .flows path[data-flow]")
        assert {arrows.nth(i).get_attribute("data-flow") for i in range(arrows.count())} == {
            f"{lender}-{borrower}" for lender, borrower in moved
        }
        # The arrow between two central districts is drawn inside the inset's frame.
        frame = page.locator("#map-inset .inset-frame").bounding_box()
        lender = next(lender for lender, borrower in moved if borrower == "500104")
        central = page.locator(f"#district-map .flows path[data-flow='{lender}-500104']")
        box = central.bounding_box()
        assert frame is not None and box is not None
        assert frame["x"] <= box["x"] and box["x"] + box["width"] <= frame["x"] + frame["width"]
        assert central.is_visible()
        page.locator("#map-flows").uncheck()
        assert not central.is_visible()
        page.locator("#map-flows").check()
        assert central.is_visible()
        # The lender is coloured on the layer of what each district lends, not on the shortfall.
        shape = page.locator(f"#district-map .districts a[data-district='{lender}'] path")
        before = shape.evaluate("el => getComputedStyle(el).fill")
        page.locator("#map-layer-lent").check()
        assert shape.evaluate("el => getComputedStyle(el).fill") != before
        assert page.locator("#district-map .legend-lent").is_visible()
        page.locator("#district-map-table summary").click()
        rows = page.locator("#district-map-flows tbody tr")
        assert rows.count() == len(moved)
        watched.screenshot("resources-map-flows")
        assert watched.page_errors == []
    finally:
        rejected = server.api(
            command_centre, "POST", f"/api/resources/plans/{plan['id']}/reject", json={}
        )
        assert rejected.status_code == 200, rejected.text
