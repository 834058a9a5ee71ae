"""The real server in a subprocess and Debian's Chromium driven by Playwright.

`xietong serve` runs on a free port against a fresh SQLite file (and a fresh PostgreSQL database
when XIETONG_TEST_DATABASE_URL is set), seeded through the CLI and the API as an operator would.
Every page a test opens may load nothing from another host; screenshots go to
`artifacts/screenshots/`.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.factories.analytics import municipal_series_rows, official_csv
from tests.polling import PATIENCE, PATIENT, health, poll_until

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "artifacts" / "screenshots"
DOC_SCREENSHOTS = REPO / "docs" / "screenshots"
PG_URL = os.environ.get("XIETONG_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
PASSWORD = "browser-test-password"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
_serial = itertools.count(1)
# The day the seeded city is shown on: its published counts run 1–13 November 2022.
DAY = "2022-11-13"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class User:
    username: str
    role: str
    district: str | None
    token: str
    password: str = PASSWORD


@dataclass
class Server:
    """A running `xietong serve` and the means to seed it."""

    url: str
    env: dict[str, str]
    backend: str
    users: list[User] = field(default_factory=list)

    def cli(self, *args: str, stdin: str | None = None) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "xietong", *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def create_user(self, role: str, district: str | None = None) -> User:
        """A user made with `xietong users create`, as an operator would."""
        username = f"{role.replace('_', '-')}-{district or 'city'}-{next(_serial)}"
        # The password is piped in, as an operator would (never on the command line).
        args = ["users", "create", username, "--role", role, "--password-stdin"]
        if district is not None:
            args += ["--district", district]
        out = self.cli(*args, stdin=PASSWORD + "\n")
        match = re.search(r"(xt_[A-Za-z0-9_\-]+)", out)
        assert match is not None, out
        user = User(username, role, district, match.group(1))
        self.users.append(user)
        return user

    def create_person(
        self, user: User, *, name: str, district: str, current_district: str | None = None
    ) -> int:
        """Register a person through the API; returns its id."""
        from xietong.people.synthetic import synthetic_national_id

        n = next(_serial)
        body = {
            "national_id": synthetic_national_id(serial=n % 1000, birth=date(1980, 1, 1 + n % 28)),
            "name": name,
            "residence_district_code": district,
        }
        if current_district is not None:
            body["current_district_code"] = current_district
        response = self.api(user, "POST", "/api/people", json=body)
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    def api(self, user: User, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = httpx.request(
            method,
            f"{self.url}{path}",
            headers={"Authorization": f"Bearer {user.token}"},
            timeout=PATIENT,
            **kwargs,
        )
        return response


def _fresh_postgresql_database(admin_url: str) -> tuple[str, str]:
    from xietong.storage.engine import normalise_url

    name = f"xietong_browser_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(normalise_url(admin_url)).set(database=name)
    return url.render_as_string(hide_password=False), name


def _drop_postgresql_database(admin_url: str, name: str) -> None:
    from xietong.storage.engine import normalise_url

    admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("server")
    dropped: str | None = None
    if request.param == "sqlite":
        database_url = f"sqlite:///{home / 'browser.sqlite'}"
    else:
        assert PG_URL is not None
        database_url, dropped = _fresh_postgresql_database(PG_URL)
    port = free_port()
    env = {
        **os.environ,
        "XIETONG_DATABASE_URL": database_url,
        "COLUMNS": "300",
        "XDG_DATA_HOME": str(home / "data"),
    }
    server = Server(url=f"http://127.0.0.1:{port}", env=env, backend=request.param)
    server.cli("db", "upgrade")
    server.cli("areas", "generate", "--buildings", "4")
    log = (home / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "xietong", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        try:
            poll_until(lambda: health(server.url), what="the server's start", process=process)
        except AssertionError as failed:
            raise AssertionError((home / "serve.log").read_text()) from failed
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        if dropped is not None:
            assert PG_URL is not None
            _drop_postgresql_database(PG_URL, dropped)


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed (apt-get install -y chromium fonts-wqy-microhei)")
    playwright_api = pytest.importorskip("playwright.sync_api")
    profile = tmp_path_factory.mktemp("chromium")
    env = {
        **os.environ,
        "XDG_CONFIG_HOME": str(profile / "config"),
        "XDG_CACHE_HOME": str(profile / "cache"),
    }
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, env=env
        )
        yield browser
        browser.close()


@dataclass
class Watched:
    """A page and what it said: console errors, uncaught errors, requests to other hosts."""

    page: Any
    base_url: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)

    def log_in(self, user: User) -> None:
        self.page.goto(f"{self.base_url}/login")
        self.page.fill("input[name=username]", user.username)
        self.page.fill("input[name=password]", user.password)
        self.page.click("button[type=submit]")
        self.page.wait_for_load_state("domcontentloaded")

    def goto(self, path: str) -> Any:
        response = self.page.goto(f"{self.base_url}{path}")
        # Selectors, not script predicates: the pages' CSP forbids eval, and so should tests.
        self.page.wait_for_selector("body[data-ready='1']", state="attached")
        return response

    def screenshot(self, name: str, *, for_docs: bool = False) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=False)
        # The README's pictures are refreshed on request, not rewritten by every test run.
        target = DOC_SCREENSHOTS / f"{name}.png"
        if for_docs and (not target.exists() or os.environ.get("XIETONG_UPDATE_DOC_SCREENSHOTS")):
            DOC_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        return path


def _watch(context: Any, base_url: str) -> Watched:
    # Waits poll the real server and browser: patient enough for a loaded machine.
    context.set_default_timeout(PATIENCE * 1000)
    page = context.new_page()
    watched = Watched(page=page, base_url=base_url)
    page.on(
        "console",
        lambda message: (
            watched.console_errors.append(message.text) if message.type == "error" else None
        ),
    )
    page.on("pageerror", lambda error: watched.page_errors.append(str(error)))

    def on_request(request: Any) -> None:
        url = request.url
        if not (url.startswith(base_url) or url.startswith(("data:", "blob:", "about:"))):
            watched.foreign_requests.append(url)

    page.on("request", on_request)
    return watched


@pytest.fixture
def open_page(browser: Any, server: Server) -> Iterator[Any]:
    """Open pages in fresh browser contexts (separate cookies) at 1366×768."""
    contexts: list[Any] = []
    pages: list[Watched] = []

    def make(lang: str = "zh-CN") -> Watched:
        context = browser.new_context(viewport={"width": 1366, "height": 768}, locale=lang)
        contexts.append(context)
        watched = _watch(context, server.url)
        pages.append(watched)
        return watched

    yield make
    for context in contexts:
        context.close()
    for watched in pages:
        assert watched.foreign_requests == [], "a page reached another host"


@pytest.fixture(scope="session")
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
