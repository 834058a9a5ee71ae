"""Empty and error states speak the reader's language and say what to do: an unknown address
is a page for a browser (JSON for the API), a refused role and an expired form each say so,
the navigation offers only what the role may open, and an empty overview offers the refresh."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.web import csrf_of, log_in
from xietong.core.principal import Role

HTML = {"Accept": "text/html,application/xhtml+xml"}


def test_a_browser_asking_for_an_unknown_address_gets_a_page_in_its_language(
    app_client: TestClient, session: Session
) -> None:
    log_in(app_client, session, role=Role.command)
    page = app_client.get("/no-such-page", headers=HTML)
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "未找到" in page.text and "从上方导航进入" in page.text
    english = app_client.get("/no-such-page?lang=en", headers=HTML)
    assert english.status_code == 404
    assert "Check the link" in english.text


def test_the_api_and_other_clients_keep_the_json_error(app_client: TestClient) -> None:
    api = app_client.get("/api/no-such-thing", headers=HTML)
    assert api.status_code == 404
    assert api.json()["error"]["code"] == "not_found"
    script = app_client.get("/no-such-page", headers={"Accept": "application/json"})
    assert script.status_code == 404
    assert script.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("role", [Role.lab, Role.viewer])
def test_roles_that_may_not_open_the_referrals_see_no_link_to_them(
    app_client: TestClient, session: Session, role: Role
) -> None:
    log_in(app_client, session, role=role)
    page = app_client.get("/zones")
    assert page.status_code == 200
    assert 'href="/referrals"' not in page.text
    refused = app_client.get("/referrals")
    assert refused.status_code == 403
    assert "您的角色无权进行此操作" in refused.text
    assert "导航中只列出您的角色可以打开的页面" in refused.text


def test_the_command_centre_sees_the_referrals_link(
    app_client: TestClient, session: Session
) -> None:
    log_in(app_client, session, role=Role.command)
    assert 'href="/referrals"' in app_client.get("/zones").text


def test_an_expired_form_says_it_has_expired_not_that_the_role_may_not(
    app_client: TestClient, session: Session
) -> None:
    log_in(app_client, session, role=Role.command)
    answer = app_client.post(
        "/overview/refresh",
        data={"csrf": "a-token-of-an-earlier-session", "next": "/overview"},
        follow_redirects=False,
    )
    assert answer.status_code == 403
    assert "该表单已过期" in answer.text
    assert "无权" not in answer.text
    assert "刷新后重新提交" in answer.text


def test_an_empty_overview_offers_the_command_centre_the_refresh_and_tells_others_whom_to_ask(
    app_client: TestClient, session: Session
) -> None:
    log_in(app_client, session, role=Role.command)
    page = app_client.get("/overview?day=2022-11-13")
    assert 'id="no-counts"' in page.text
    assert "刷新每日汇总" in page.text and 'action="/overview/refresh"' in page.text
    refreshed = app_client.post(
        "/overview/refresh",
        data={"csrf": csrf_of(app_client), "next": "/overview?day=2022-11-13"},
        follow_redirects=False,
    )
    assert refreshed.status_code == 303
    assert refreshed.headers["location"] == "/overview?day=2022-11-13"

    log_in(app_client, session, role=Role.district_coordinator, district_code="500106")
    page = app_client.get("/overview?day=2022-11-13")
    assert 'action="/overview/refresh"' not in page.text
    assert "由市指挥部刷新" in page.text
