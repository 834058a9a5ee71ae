"""The overview on a wall, in a real browser: a change made elsewhere through the API reaches
the open page through the live stream and shows without a reload, with the time of the refresh
in the server's clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.browser.conftest import DAY, Server, User


def test_a_case_recorded_through_the_api_appears_on_the_open_overview_without_a_reload(
    server: Server, open_page: Any, command_centre: User
) -> None:
    field = server.create_user("field_worker", "500108")
    watched = open_page()
    watched.log_in(command_centre)
    watched.goto(f"/overview?day={DAY}")
    page = watched.page
    page.wait_for_selector("body[data-live-state='open']", state="attached")
    before = int(page.inner_text("#shift-new-cases dd").replace(",", ""))
    stamp = page.get_attribute("#overview-refreshed", "data-server-now")
    # A mark only this document carries: a reload would drop it.
    page.evaluate("document.body.dataset.kept = 'yes'")

    person = server.create_person(field, name="钱七", district="500108")
    created = server.api(
        field,
        "POST",
        "/api/cases",
        json={
            "person_id": person,
            "classification": "asymptomatic",
            "detected_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
        },
    )
    assert created.status_code == 201, created.text

    page.locator(f"#shift-new-cases dd:text-is('{before + 1}')").wait_for()
    page.locator(f"#overview-refreshed:not([data-server-now='{stamp}'])").wait_for(state="attached")
    assert page.get_attribute("body", "data-kept") == "yes"
    assert "刷新于" in page.inner_text("#overview-refreshed")
    assert watched.page_errors == []
