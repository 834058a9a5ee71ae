"""Every page renders for every role that may open it, states when its data is from, and loads
scripts only from this server."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.web import log_in
from xietong.core.principal import Role
from xietong.web.i18n import STRINGS
from xietong.web.pages.frame import plotly_js_path

PAGES = [
    "/overview",
    "/referrals",
    "/zones",
    "/resources",
    "/forecast",
    "/bulletin",
]
COMMAND_PAGES = ["/referrals/board"]
SCRIPT_SRC = re.compile(r"<script[^>]*\bsrc=\"([^\"]*)\"", re.IGNORECASE)
ANY_REMOTE = re.compile(r"(src|href)=\"(https?:)?//", re.IGNORECASE)


def assert_local_only(html: str) -> None:
    for src in SCRIPT_SRC.findall(html):
        assert src.startswith("/static/"), f"script from elsewhere: {src}"
    assert not ANY_REMOTE.search(html), "a page links a resource on another host"
    assert "cdn" not in html.lower()


@pytest.mark.parametrize("path", PAGES + COMMAND_PAGES)
def test_the_command_centre_opens_every_page(
    app_client: TestClient, session: Session, path: str
) -> None:
    log_in(app_client, session, role=Role.command)
    page = app_client.get(path)
    assert page.status_code == 200, page.text
    assert "数据时间" in page.text
    assert_local_only(page.text)


@pytest.mark.parametrize("path", PAGES)
def test_a_district_coordinator_opens_every_district_page(
    app_client: TestClient, session: Session, path: str
) -> None:
    log_in(app_client, session, role=Role.district_coordinator, district_code="500106")
    page = app_client.get(path)
    assert page.status_code == 200, page.text
    assert "数据时间" in page.text
    assert_local_only(page.text)


@pytest.mark.parametrize("path", PAGES)
def test_every_page_has_an_english_version(
    app_client: TestClient, session: Session, path: str
) -> None:
    log_in(app_client, session, role=Role.command)
    page = app_client.get(f"{path}?lang=en")
    assert page.status_code == 200
    assert "Data as of" in page.text
    assert '<html lang="en">' in page.text


def test_the_board_of_escalations_is_for_the_command_centre(
    app_client: TestClient, session: Session
) -> None:
    log_in(app_client, session, role=Role.district_coordinator, district_code="500106")
    assert app_client.get("/referrals/board").status_code == 403


def test_the_public_list_needs_no_login_and_loads_nothing_from_elsewhere(
    app_client: TestClient,
) -> None:
    page = app_client.get("/public/zones")
    assert page.status_code == 200
    assert "数据时间" in page.text
    assert_local_only(page.text)


def test_plotly_is_served_from_the_installed_package(app_client: TestClient) -> None:
    served = app_client.get("/static/plotly.min.js")
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("text/javascript")
    assert served.content == plotly_js_path().read_bytes()


def test_only_our_own_static_files_are_served(app_client: TestClient) -> None:
    assert app_client.get("/static/app.js").status_code == 200
    assert app_client.get("/static/app.css").status_code == 200
    for name in ("chongqing.json", "..%2F..%2Fconfig.py", "base.html"):
        assert app_client.get(f"/static/{name}").status_code == 404


def test_pages_forbid_scripts_from_other_hosts(app_client: TestClient) -> None:
    policy = app_client.get("/login").headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "default-src 'self'" in policy


def test_no_template_or_script_of_ours_names_another_host() -> None:
    package = resources.files("xietong.web")
    for folder in ("templates", "static"):
        for entry in package.joinpath(folder).iterdir():
            text = entry.read_text("utf-8")
            assert not re.search(r"https?://", text), f"{folder}/{entry.name} names a host"


def test_every_text_the_pages_use_has_both_languages() -> None:
    root = Path(str(resources.files("xietong.web")))
    used: set[str] = set()
    pattern = re.compile(
        r"""\bt(?:ranslate)?\((?:lang, |viewer\.lang, )?["']([a-z_]+\.[a-z_.]+)["']"""
    )
    for path in [*root.rglob("*.html"), *root.rglob("*.py")]:
        used.update(pattern.findall(path.read_text("utf-8")))
    assert used, "no texts found: the pattern is wrong"
    # Keys completed at run time ("referrals.box_" ~ box) are checked one by one below.
    missing = sorted(k for k in used - STRINGS.keys() if not k.endswith(("_", ".")))
    assert missing == []
    for key, (zh, en) in STRINGS.items():
        assert zh.strip() and en.strip(), key


def test_every_choice_a_page_offers_has_words_in_both_languages() -> None:
    from xietong.referrals.states import Status
    from xietong.web.pages import bulletin, referrals, resources, zones

    keys = [f"referrals.box_{b}" for b in ("inbox", "outbox", "overdue", "escalated", "all")]
    keys += [f"referrals.filter_{s}" for s in referrals.STATUS_FILTERS]
    keys += [f"reason.{r}" for r in referrals.REASONS]
    keys += [f"status.{s.value}" for s in Status]
    keys += [f"zones.filter_{s}" for s in zones.STATUS_FILTERS]
    keys += [f"status.{s}" for s in zones.ALL_STATUSES]
    keys += [f"resource.{r}" for r in resources.RESOURCES]
    keys += [f"bulletin.lang_{code.replace('-', '_')}" for code in bulletin.LANGUAGES]
    keys += [f"phase.{p}" for p in ("rapid_growth", "growth", "plateau", "decline", "surface_zero")]
    assert sorted(k for k in keys if k not in STRINGS) == []
