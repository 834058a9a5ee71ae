"""The frame in a real browser: login, scoping of person pages, the public list."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import Server


def test_a_district_user_cannot_open_another_districts_person_page(
    server: Server, open_page: Any
) -> None:
    command = server.create_user("command")
    person_id = server.create_person(command, name="钱七", district="500106")

    own = open_page()
    own.log_in(server.create_user("district_coordinator", "500106"))
    own.goto(f"/persons/{person_id}")
    assert "钱七" in own.page.inner_text("main")
    own.screenshot("person")

    other = open_page()
    other.log_in(server.create_user("district_coordinator", "500108"))
    response = other.goto(f"/persons/{person_id}")
    assert response.status == 404
    assert "钱七" not in other.page.content()
    other.screenshot("person-other-district")
