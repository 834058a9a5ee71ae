"""Several referrals acknowledged at once in a real browser: the district ticks two rows, double
clicks the one button, is asked once to confirm, and each referral is acknowledged exactly once."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import Server

# Districts no other browser test refers between, so the receiving inbox holds these alone.
SENDER, RECEIVER = "500114", "500115"


def test_a_double_click_on_acknowledge_selected_acknowledges_each_once(
    server: Server, open_page: Any
) -> None:
    command = server.create_user("command")
    sender = server.create_user("district_coordinator", SENDER)
    receiver = server.create_user("district_coordinator", RECEIVER)
    ids = []
    for n in range(2):
        person = server.create_person(
            command, name=f"协查对象{n}", district=RECEIVER, current_district=SENDER
        )
        made = server.api(
            sender,
            "POST",
            "/api/referrals",
            json={"person_id": person, "reason": "close_contact", "evidence": f"流调 {n}"},
        )
        assert made.status_code == 201, made.text
        ids.append(made.json()["referral"]["id"])

    watched = open_page()
    watched.log_in(receiver)
    watched.goto("/referrals?sort=deadline")
    asked: list[str] = []

    def accept(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.accept()

    watched.page.on("dialog", accept)
    for referral_id in ids:
        watched.page.check(f'input[name=referral_id][value="{referral_id}"]')
    watched.screenshot("referrals-bulk", for_docs=True)
    watched.page.dblclick('button[data-action="acknowledge-selected"]')
    for referral_id in ids:
        watched.page.wait_for_selector(
            f'tr[data-row-id="{referral_id}"][data-status="acknowledged"]'
        )
    assert asked and all(asked)
    for referral_id in ids:
        history = server.api(receiver, "GET", f"/api/referrals/{referral_id}/history").json()
        assert [e["action"] for e in history].count("acknowledged") == 1
    assert watched.console_errors == [] and watched.page_errors == []
