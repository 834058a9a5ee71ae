"""The regional coordination in a real browser: a referral pushed by one district arrives in the
other district's open inbox without a reload, is acknowledged, located, controlled and closed with
feedback, and the sending district then reads the feedback."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import Server

SENDER, RECEIVER = "500106", "500108"
FEEDBACK = "已找到本人，已转运至集中隔离点"


def test_a_pushed_referral_arrives_live_and_its_feedback_reaches_the_sender(
    server: Server, open_page: Any
) -> None:
    command = server.create_user("command")
    sender = server.create_user("district_coordinator", SENDER)
    receiver = server.create_user("district_coordinator", RECEIVER)
    # Lives in the receiving district, found in the sending one.
    person_id = server.create_person(
        command, name="孙八", district=RECEIVER, current_district=SENDER
    )

    # Referrals already in the inbox, from other districts and for other reasons.
    for home_away, reason in (("500113", "close_contact"), ("500112", "pooled_positive")):
        other = server.create_person(
            command, name="其他", district=RECEIVER, current_district=home_away
        )
        earlier = server.api(
            command,
            "POST",
            "/api/referrals",
            json={
                "person_id": other,
                "reason": reason,
                "evidence": f"earlier-{home_away}",
                "from_district_code": home_away,
                "to_district_code": RECEIVER,
            },
        )
        assert earlier.status_code == 201, earlier.text

    inbox = open_page()
    inbox.log_in(receiver)
    inbox.goto("/referrals")
    page = inbox.page
    page.wait_for_selector("body[data-live-state='open']", state="attached")
    page.evaluate("window.__notReloaded = true")

    pushed = server.api(
        sender,
        "POST",
        "/api/referrals",
        json={
            "person_id": person_id,
            "reason": "manual",
            "evidence": "流调报告 2022-1114-001",
            "to_district_code": RECEIVER,
        },
    )
    assert pushed.status_code == 201, pushed.text
    referral_id = pushed.json()["referral"]["id"]

    row = page.locator(f'tr[data-row-id="{referral_id}"]')
    row.wait_for()
    assert page.evaluate("window.__notReloaded") is True, "the page was reloaded"
    assert row.get_attribute("data-status") == "pushed"
    assert row.locator(".countdown").inner_text().startswith("剩余")
    inbox.screenshot("inbox", for_docs=True)

    for action, status in (
        ("acknowledge", "acknowledged"),
        ("locate", "located"),
        ("control", "controlled"),
    ):
        row.locator(f'button[data-action="{action}"]').click()
        page.wait_for_selector(f'tr[data-row-id="{referral_id}"][data-status="{status}"]')
        row = page.locator(f'tr[data-row-id="{referral_id}"]')
    row.locator("textarea[name=feedback]").fill(FEEDBACK)
    # Closing is a decision: the page asks first.
    page.once("dialog", lambda dialog: dialog.accept())
    row.locator('button[data-action="close"]').click()
    # A closed referral leaves the list of open ones.
    page.wait_for_selector(f'tr[data-row-id="{referral_id}"]', state="detached")
    inbox.goto("/referrals?status=all")
    closed = inbox.page.locator(f'tr[data-row-id="{referral_id}"]')
    assert closed.get_attribute("data-status") == "closed"
    inbox.screenshot("inbox-closed")
    assert inbox.console_errors == []
    assert inbox.page_errors == []

    outbox = open_page()
    outbox.log_in(sender)
    outbox.goto("/referrals?box=outbox&status=all")
    sent = outbox.page.locator(f'tr[data-row-id="{referral_id}"]')
    assert sent.get_attribute("data-status") == "closed"
    assert FEEDBACK in sent.inner_text()
    assert "孙八" not in outbox.page.content()
    outbox.screenshot("outbox-feedback")
    outbox.goto(f"/referrals/{referral_id}")
    assert FEEDBACK in outbox.page.inner_text("#referral-feedback")
    outbox.screenshot("referral-detail")
