"""The overview in a real browser: the district map and the epidemic curve render from the
server's figures, offline, with no console error; the other pages render at 1366×768."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import DAY, Server, User


def test_the_overview_draws_its_map_and_curve_without_a_console_error(
    server: Server, open_page: Any, command_centre: User
) -> None:
    watched = open_page()
    watched.log_in(command_centre)
    watched.goto(f"/overview?day={DAY}")
    page = watched.page
    # A loaded machine may take a while to draw the curve.
    page.wait_for_selector("#epidemic-curve[data-rendered='1']", state="attached")
    page.wait_for_selector("#panel-lines", state="attached")
    watched.screenshot("overview", for_docs=True)
    assert page.locator("#district-map svg text[data-label]").count() == 41
    assert page.locator("#epidemic-curve .barlayer .point path").count() > 0
    assert "南岸区" in page.inner_text("#panel-lines")
    assert watched.console_errors == []
    assert watched.page_errors == []


def test_the_overview_in_english(server: Server, open_page: Any, command_centre: User) -> None:
    watched = open_page("en-GB")
    watched.log_in(command_centre)
    watched.goto(f"/overview?day={DAY}&lang=en")
    assert "Shapingba" in (watched.page.text_content("#district-map .labels") or "")
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
        watched.page.wait_for_selector(f"#{figure_id}[data-rendered='1']", state="attached")
    name = path.strip("/").split("?")[0].replace("/", "-")
    watched.screenshot(name)
    assert watched.console_errors == []
    assert watched.page_errors == []
