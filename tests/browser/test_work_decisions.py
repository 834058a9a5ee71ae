"""Decisions and hand-offs through the screen alone, in a real browser: a contact registered in
one district who lives in another appears live in that district's inbox, is answered, and the
sender sees the answer with an unread mark; the command centre approves a lifting proposal with
a double click (asked to confirm, acting once) and the public list drops the area; an export
opens in Python's csv and in pandas with the Chinese intact and the formula escaped."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from tests.browser.conftest import Server
from tests.browser.test_work_pages import _building, _resident

TZ = ZoneInfo("Asia/Shanghai")
# Districts no other browser test refers between, so the receiving inbox holds this one alone.
SENDER, RECEIVER = "500107", "500109"
FEEDBACK = "已找到密接，已转运集中隔离"
# A reason that a spreadsheet would run as a formula if the export did not escape it.
REASON = "=1+1 社会面病例"


def _accept_dialogs(page: Any) -> list[str]:
    """Accept every confirmation the page asks for, and keep what each one said."""
    asked: list[str] = []

    def accept(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    return asked


def test_a_contact_living_elsewhere_reaches_that_district_live_and_its_answer_is_unread(
    server: Server, open_page: Any
) -> None:
    command = server.create_user("command")
    sender = server.create_user("district_coordinator", SENDER)
    receiver = server.create_user("district_coordinator", RECEIVER)
    patient = _resident(server, command, _building(server, command, SENDER), "病例甲")
    made = server.api(
        command,
        "POST",
        "/api/cases",
        json={
            "person_id": patient,
            "classification": "confirmed",
            "detected_at": datetime.now(TZ).isoformat(),
            "report_district_code": SENDER,
        },
    )
    assert made.status_code == 201, made.text
    case_id = made.json()["id"]

    inbox = open_page()
    inbox.log_in(receiver)
    inbox.goto("/referrals")
    inbox.page.wait_for_selector("body[data-live-state='open']", state="attached")
    inbox.page.evaluate("window.__notReloaded = true")

    from xietong.people.synthetic import synthetic_national_id

    tracer = open_page()
    tracer.log_in(sender)
    tracer.goto(f"/cases/{case_id}")
    form = tracer.page.locator("#add-contact")
    form.locator("input[name=name]").fill("密接乙")
    form.locator("input[name=national_id]").fill(
        synthetic_national_id(serial=901, birth=datetime(1990, 5, 5, tzinfo=TZ).date())
    )
    form.locator("select[name=residence_district]").select_option(RECEIVER)
    form.locator("select[name=exposure_kind]").select_option("household")
    form.locator("button[type=submit]").click()
    tracer.page.wait_for_selector("#contacts tr[data-contact-id]")
    tracer.screenshot("case", for_docs=True)

    row = inbox.page.locator("tr[data-row-id][data-status='pushed']")
    row.wait_for()
    assert inbox.page.evaluate("window.__notReloaded") is True, "the inbox was reloaded"
    referral_id = row.get_attribute("data-row-id")
    asked = _accept_dialogs(inbox.page)
    for action, status in (
        ("acknowledge", "acknowledged"),
        ("locate", "located"),
        ("control", "controlled"),
    ):
        row.locator(f'button[data-action="{action}"]').click()
        inbox.page.wait_for_selector(f'tr[data-row-id="{referral_id}"][data-status="{status}"]')
        row = inbox.page.locator(f'tr[data-row-id="{referral_id}"]')
    row.locator("textarea[name=feedback]").fill(FEEDBACK)
    row.locator('button[data-action="close"]').click()
    inbox.page.wait_for_selector(f'tr[data-row-id="{referral_id}"]', state="detached")
    assert len(asked) == 1, "closing asks for confirmation"

    tracer.goto("/referrals?box=outbox")
    sent = tracer.page.locator(f'tr[data-row-id="{referral_id}"]')
    assert sent.get_attribute("data-status") == "closed"
    assert sent.get_attribute("data-unread") == "1"
    assert FEEDBACK in sent.inner_text()
    assert tracer.page.locator("#unread-answers").inner_text() == "1"
    tracer.screenshot("outbox-unread", for_docs=True)
    tracer.goto(f"/referrals/{referral_id}")
    tracer.goto("/referrals?box=outbox")
    assert (
        tracer.page.locator(f'tr[data-row-id="{referral_id}"]').get_attribute("data-unread") is None
    )
    for watched in (inbox, tracer):
        assert watched.console_errors == [] and watched.page_errors == []


def _lifting_proposal(server: Server, building_code: str) -> int:
    """An area locked six days ago whose lifting the daily evaluation has proposed, written
    through the zones service into the server's database."""
    from sqlalchemy import select

    from tests.factories.zones import area
    from xietong.areas.models import Building
    from xietong.core.clock import FixedClock
    from xietong.storage.engine import build_engine, session_factory
    from xietong.storage.unit_of_work import unit_of_work

    engine = build_engine(server.env["XIETONG_DATABASE_URL"])
    try:
        clock = FixedClock(datetime.now(TZ))
        with unit_of_work(session_factory(engine), clock=clock) as session:
            place = session.scalars(select(Building).where(Building.code == building_code)).one()
            today = datetime.now(TZ).date()
            made = area(
                session,
                place,
                status="lifting_proposed",
                active_from=today - timedelta(days=6),
                lifted_on=today - timedelta(days=1),
                reason=REASON,
            )
            return int(made.id)
    finally:
        engine.dispose()


def test_the_command_centre_approves_a_lifting_once_and_the_public_list_drops_it(
    server: Server, open_page: Any, tmp_path: Path
) -> None:
    command = server.create_user("command")
    building = _building(server, command, "500105", 2)
    area_id = _lifting_proposal(server, building)
    address = server.api(command, "GET", f"/api/zones/{area_id}").json()["address_label"]

    public = open_page()
    public.goto("/public/zones?district=500105")
    assert address in public.page.inner_text("main")

    watched = open_page()
    watched.log_in(command)
    watched.goto(f"/zones/{area_id}")
    asked = _accept_dialogs(watched.page)
    watched.page.dblclick('#area button[data-decision="lift"]')
    watched.page.wait_for_selector("#area[data-status='lifted']")
    assert asked and all(message for message in asked)
    detail = server.api(command, "GET", f"/api/zones/{area_id}").json()
    assert [e["step"] for e in detail["events"]].count("lifted") == 1
    watched.screenshot("zone-history", for_docs=True)

    # A new visitor (the list may be kept a minute in a visitor's cache, by design).
    later = open_page()
    later.goto("/public/zones?district=500105")
    assert address not in later.page.inner_text("main")

    # The list of areas as a file, read back as a spreadsheet would.
    watched.goto("/zones?district=500105&status=all")
    with watched.page.expect_download() as info:
        watched.page.click("a.export")
    saved = tmp_path / "areas.csv"
    info.value.save_as(saved)
    raw = saved.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    mine = [r for r in rows if r["building"] == building]
    assert mine and mine[0]["status"] == "lifted"
    assert mine[0]["reason"] == "'" + REASON
    frame = pd.read_csv(saved, encoding="utf-8-sig")
    assert ("'" + REASON) in set(frame["reason"])
    assert not any(str(v).startswith("=") for v in frame.to_numpy().ravel())
    assert watched.console_errors == [] and watched.page_errors == []
