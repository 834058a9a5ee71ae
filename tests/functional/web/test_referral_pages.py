"""The referral inbox on screen: a district sees what was pushed to it, acts on it through the
same services as the API, and the sending district sees the status and the feedback."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.referrals import RECEIVER, SENDER, THIRD, bring_to, make_referral
from tests.factories.web import csrf_of, log_in
from xietong.core.principal import Role
from xietong.people.protection import PersonalDataProtector
from xietong.referrals.states import Status


def row_ids(html: str) -> set[int]:
    import re

    return {int(n) for n in re.findall(r'data-row-id="(\d+)"', html)}


def test_the_inbox_lists_what_was_pushed_to_the_district_and_nothing_else(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    mine = make_referral(session, protector, from_code=SENDER, to_code=RECEIVER)
    other = make_referral(session, protector, from_code=SENDER, to_code=THIRD)
    log_in(app_client, session, role=Role.district_coordinator, district_code=RECEIVER)
    page = app_client.get("/referrals")
    assert page.status_code == 200
    assert mine.id in row_ids(page.text)
    assert other.id not in row_ids(page.text)
    assert 'data-live-url="/referrals/rows?' in page.text
    assert "data-deadline=" in page.text


def test_the_inbox_table_alone_is_served_for_the_live_refresh(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    log_in(app_client, session, role=Role.district_coordinator, district_code=RECEIVER)
    before = app_client.get("/referrals/rows?box=inbox")
    referral = make_referral(session, protector, from_code=SENDER, to_code=RECEIVER)
    after = app_client.get("/referrals/rows?box=inbox")
    assert referral.id not in row_ids(before.text)
    assert referral.id in row_ids(after.text)
    assert "<html" not in after.text
    app_client.cookies.clear()
    assert app_client.get("/referrals/rows").status_code == 401


def test_the_receiving_district_walks_a_referral_to_closed_with_feedback(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    referral = make_referral(session, protector, from_code=SENDER, to_code=RECEIVER)
    log_in(app_client, session, role=Role.district_coordinator, district_code=RECEIVER)
    csrf = csrf_of(app_client)
    for action in ("acknowledge", "locate", "control"):
        response = app_client.post(
            f"/referrals/{referral.id}/{action}",
            data={"csrf": csrf, "next": "/referrals?box=inbox"},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        assert response.headers["location"] == "/referrals?box=inbox"
    refused = app_client.post(f"/referrals/{referral.id}/close", data={"csrf": csrf})
    assert refused.status_code == 422
    assert "办结须填写给发起区的反馈" in refused.text
    closed = app_client.post(
        f"/referrals/{referral.id}/close",
        data={"csrf": csrf, "feedback": "已找到，集中隔离于某酒店"},
        follow_redirects=False,
    )
    assert closed.status_code == 303
    session.refresh(referral)
    assert referral.status == Status.closed.value
    assert referral.feedback == "已找到，集中隔离于某酒店"


def test_the_sending_district_sees_the_status_and_the_feedback(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    referral = make_referral(session, protector, from_code=SENDER, to_code=RECEIVER)
    bring_to(session, referral, Status.closed)
    log_in(app_client, session, role=Role.district_coordinator, district_code=SENDER)
    page = app_client.get("/referrals?box=outbox&status=all")
    assert referral.id in row_ids(page.text)
    assert "已集中隔离" in page.text
    assert "已办结" in page.text
    # The sender sees no person details and has no buttons on it.
    assert 'data-action="' not in page.text
    detail = app_client.get(f"/referrals/{referral.id}")
    assert detail.status_code == 200
    assert "已集中隔离" in detail.text
    assert "测试人员" not in detail.text


def test_an_action_without_the_forms_token_is_refused(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    referral = make_referral(session, protector, from_code=SENDER, to_code=RECEIVER)
    log_in(app_client, session, role=Role.district_coordinator, district_code=RECEIVER)
    response = app_client.post(f"/referrals/{referral.id}/acknowledge", data={"csrf": "x"})
    assert response.status_code == 403
    session.refresh(referral)
    assert referral.status == Status.pushed.value


def test_another_district_can_neither_see_nor_act_on_a_referral(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    referral = make_referral(session, protector, from_code=SENDER, to_code=RECEIVER)
    log_in(app_client, session, role=Role.district_coordinator, district_code=THIRD)
    assert app_client.get(f"/referrals/{referral.id}").status_code == 404
    response = app_client.post(
        f"/referrals/{referral.id}/acknowledge", data={"csrf": csrf_of(app_client)}
    )
    assert response.status_code == 404
    session.refresh(referral)
    assert referral.status == Status.pushed.value


def test_the_sending_district_cannot_act_for_the_receiver(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    referral = make_referral(session, protector, from_code=SENDER, to_code=RECEIVER)
    log_in(app_client, session, role=Role.district_coordinator, district_code=SENDER)
    response = app_client.post(
        f"/referrals/{referral.id}/acknowledge", data={"csrf": csrf_of(app_client)}
    )
    assert response.status_code == 403
    session.refresh(referral)
    assert referral.status == Status.pushed.value


def test_the_inbox_filters_by_status_and_reason_and_pages(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    made = [make_referral(session, protector, to_code=RECEIVER) for _ in range(3)]
    contact = make_referral(session, protector, to_code=RECEIVER, reason="close_contact")
    bring_to(session, made[0], Status.closed)
    log_in(app_client, session, role=Role.district_coordinator, district_code=RECEIVER)
    open_ones = row_ids(app_client.get("/referrals?status=open&limit=100").text)
    assert made[0].id not in open_ones
    assert {made[1].id, made[2].id, contact.id} <= open_ones
    contacts = row_ids(app_client.get("/referrals?status=all&reason=close_contact").text)
    assert contacts == {contact.id}
    first = app_client.get("/referrals?status=all&limit=20")
    total = len(row_ids(first.text))
    paged = app_client.get("/referrals?status=all&limit=2&offset=0")
    assert len(row_ids(paged.text)) == 2
    assert f"共 {total} 条" in paged.text
    assert 'rel="next"' in paged.text


def test_the_person_is_linked_only_once_the_referral_is_acknowledged(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    referral = make_referral(session, protector, from_code=SENDER, to_code=RECEIVER)
    log_in(app_client, session, role=Role.district_coordinator, district_code=RECEIVER)
    assert f"/persons/{referral.person_id}" not in app_client.get("/referrals").text
    bring_to(session, referral, Status.acknowledged)
    assert f"/persons/{referral.person_id}" in app_client.get("/referrals").text
    detail = app_client.get(f"/referrals/{referral.id}")
    assert "测试人员" in detail.text


def test_the_board_counts_overdue_referrals_per_pair_of_districts(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    # Pushed on 14 November 2022: long overdue by now.
    make_referral(session, protector, from_code=SENDER, to_code=RECEIVER)
    make_referral(session, protector, from_code=SENDER, to_code=RECEIVER)
    make_referral(session, protector, from_code=THIRD, to_code=RECEIVER)
    log_in(app_client, session, role=Role.command)
    page = app_client.get("/referrals/board")
    assert page.status_code == 200
    import re

    pair = re.search(
        rf'data-pair="{SENDER}-{RECEIVER}">.*?<td class="num">(\d+)</td>', page.text, re.S
    )
    assert pair is not None
    assert int(pair.group(1)) >= 2
    # The labelled district map, its figures in a table behind a toggle: three overdue to the
    # receiving district, each district a link to the board's list of its own.
    assert 'id="district-map"' in page.text and "plotly" not in page.text
    row = re.search(rf'data-map-row="{RECEIVER}">.*?<td class="num">(\d+)</td>', page.text, re.S)
    assert row is not None and int(row.group(1)) >= 3
    assert f'href="/referrals/board?district={RECEIVER}#overdue"' in page.text


def test_a_laboratory_has_no_referral_inbox(app_client: TestClient, session: Session) -> None:
    log_in(app_client, session, role=Role.lab)
    assert app_client.get("/referrals").status_code == 403


def test_the_board_lists_the_overdue_referrals_of_one_district(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    theirs = make_referral(session, protector, from_code=THIRD, to_code=RECEIVER)
    others = make_referral(session, protector, from_code=SENDER, to_code=RECEIVER)
    log_in(app_client, session, role=Role.command)
    page = app_client.get(f"/referrals/board?district={THIRD}&limit=100")
    listed = row_ids(page.text.split('id="overdue"')[1])
    assert theirs.id in listed
    assert others.id not in listed


def test_the_board_audits_every_referral_it_lists_in_one_write(
    app_client: TestClient,
    session: Session,
    protector: PersonalDataProtector,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from datetime import timedelta

    from sqlalchemy import select

    from xietong.auth import service as auth_service
    from xietong.auth.models import AuditEntry
    from xietong.core.wallclock import SystemClock

    # Pushed on 14 November 2022 (overdue), and half an hour ago (due within the hour): two lists.
    overdue = [make_referral(session, protector, to_code=RECEIVER) for _ in (1, 2)]
    soon = make_referral(session, protector, at=SystemClock().now() - timedelta(minutes=30))
    log_in(app_client, session, role=Role.command)
    first = session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1)) or 0
    writes: list[int] = []
    write = auth_service.record_audit_rows

    def counted(*args: Any, **kwargs: Any) -> None:
        if (kwargs["action"], kwargs["entity"]) == ("list", "referral"):
            writes.append(len(kwargs["rows"]))
        write(*args, **kwargs)

    monkeypatch.setattr(auth_service, "record_audit_rows", counted)
    assert app_client.get("/referrals/board").status_code == 200
    listed = session.scalars(
        select(AuditEntry.entity_id).where(
            AuditEntry.id > first, AuditEntry.entity == "referral", AuditEntry.action == "list"
        )
    ).all()
    assert {str(r.id) for r in [*overdue, soon]} <= set(listed)
    assert writes == [len(listed)]
