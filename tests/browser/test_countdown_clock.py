"""Countdowns count from the server's time: a browser whose clock is three years off still shows
the minutes the server sees, in the inbox, on the referral and on the command centre's board."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.browser.conftest import Server

SENDER, RECEIVER = "500106", "500108"
MINUTES = re.compile(r"剩余 (\d+) 分钟")


def minutes_left(text: str) -> int:
    match = MINUTES.search(text)
    assert match is not None, text
    return int(match.group(1))


def test_a_referral_due_in_an_hour_reads_59_to_60_minutes_on_a_browser_three_years_off(
    server: Server, open_page: Any
) -> None:
    command = server.create_user("command")
    receiver = server.create_user("district_coordinator", RECEIVER)
    person = server.create_person(command, name="钱九", district=RECEIVER, current_district=SENDER)
    pushed = server.api(
        command,
        "POST",
        "/api/referrals",
        json={
            "person_id": person,
            "reason": "manual",
            "evidence": "clock-check",
            "from_district_code": SENDER,
            "to_district_code": RECEIVER,
        },
    )
    assert pushed.status_code == 201, pushed.text
    referral = pushed.json()["referral"]

    for years in (3, -3):
        watched = open_page()
        # The browser's own clock, three years ahead of (then behind) the server's.
        watched.page.clock.install(time=datetime.now(UTC) + timedelta(days=365 * years))
        watched.page.clock.resume()
        watched.log_in(receiver)
        watched.goto("/referrals")
        row = watched.page.locator(f"tr[data-row-id='{referral['id']}'] .countdown")
        assert 59 <= minutes_left(row.inner_text()) <= 60
        assert row.get_attribute("data-overdue") == "0"
        # The page's own tick (every 30 s) counts from the server's now too.
        watched.page.clock.fast_forward(31_000)
        assert 58 <= minutes_left(row.inner_text()) <= 60
        assert "overdue" not in (row.get_attribute("class") or "")

        watched.goto(f"/referrals/{referral['id']}")
        detail = watched.page.locator(".countdown").first
        assert 58 <= minutes_left(detail.inner_text()) <= 60
        if years == 3:
            watched.screenshot("inbox-clock-off")
