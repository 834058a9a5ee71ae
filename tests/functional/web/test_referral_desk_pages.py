"""The receiving district's desk on screen: the inbox sorted by the nearest deadline, several
referrals acknowledged with one button (once for a double submit; a refused one named with the
reason in the reader's language), notes in the history, and a referral given to a field worker
who finds it under "mine"."""

from __future__ import annotations

import csv
import io
import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.auth import make_user
from tests.factories.referrals import RECEIVER, SENDER, bring_to, make_referral
from tests.factories.web import PASSWORD, csrf_of, log_in
from xietong.core.principal import Role
from xietong.people.protection import PersonalDataProtector
from xietong.referrals.models import ReferralEvent
from xietong.referrals.states import Status


def acknowledged(session: Session, referral_id: int) -> int:
    return int(
        session.scalar(
            select(func.count(ReferralEvent.id)).where(
                ReferralEvent.referral_id == referral_id, ReferralEvent.action == "acknowledged"
            )
        )
        or 0
    )


def row_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-row-id="(\d+)"', html)]


def test_the_inbox_offers_the_nearest_deadline_order(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    make_referral(session, protector)
    log_in(app_client, session, role=Role.district_coordinator, district_code=RECEIVER)
    page = app_client.get("/referrals")
    assert '<option value="urgent" selected' in page.text
    assert '<option value="deadline"' in page.text
    by_deadline = app_client.get("/referrals?sort=deadline")
    assert '<option value="deadline" selected' in by_deadline.text
    assert "sort=deadline" in re.search(r'data-live-url="([^"]+)"', by_deadline.text).group(1)  # type: ignore[union-attr]
    english = app_client.get("/referrals?sort=deadline&lang=en")
    assert "Nearest deadline first" in english.text


def test_several_are_acknowledged_with_one_button_and_a_double_submit_acts_once(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    first, second = make_referral(session, protector), make_referral(session, protector)
    log_in(app_client, session, role=Role.district_coordinator, district_code=RECEIVER)
    page = app_client.get("/referrals")
    form = re.search(
        r'<form id="bulk-ack"[^>]*data-confirm="([^"]+)">.*?name="form_key" value="([^"]+)"',
        page.text,
        re.S,
    )
    assert form is not None and form.group(1)
    for referral in (first, second):
        assert f'name="referral_id" value="{referral.id}" form="bulk-ack"' in page.text
    data = {
        "csrf": csrf_of(app_client),
        "form_key": form.group(2),
        "next": "/referrals",
        "referral_id": [str(first.id), str(second.id)],
    }
    once = app_client.post("/referrals/acknowledge", data=data, follow_redirects=False)
    twice = app_client.post("/referrals/acknowledge", data=data, follow_redirects=False)
    assert (once.status_code, twice.status_code) == (303, 303)
    assert once.headers["location"] == "/referrals"
    for referral in (first, second):
        session.refresh(referral)
        assert referral.status == Status.acknowledged.value
        assert acknowledged(session, referral.id) == 1
    after = app_client.get("/referrals")
    assert f'value="{first.id}" form="bulk-ack"' not in after.text


def test_a_refused_one_is_named_with_its_reason_and_the_others_are_done(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    fresh = make_referral(session, protector)
    taken = bring_to(session, make_referral(session, protector), Status.acknowledged)
    log_in(app_client, session, role=Role.district_coordinator, district_code=RECEIVER)
    outcome = app_client.post(
        "/referrals/acknowledge",
        data={"csrf": csrf_of(app_client), "referral_id": [str(fresh.id), str(taken.id)]},
    )
    assert outcome.status_code == 200
    assert f'data-done="{fresh.id}"' in outcome.text
    refused = re.search(rf'<li data-refused="{taken.id}">(.*?)</li>', outcome.text, re.S)
    assert refused is not None and "当前状态为“已签收”" in refused.group(1)
    session.refresh(fresh)
    assert fresh.status == Status.acknowledged.value
    assert acknowledged(session, taken.id) == 1
    nothing = app_client.post(
        "/referrals/acknowledge", data={"csrf": csrf_of(app_client), "referral_id": "x"}
    )
    assert nothing.status_code == 422


def test_the_sending_district_cannot_acknowledge_for_the_receiver(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    referral = make_referral(session, protector)
    log_in(app_client, session, role=Role.district_coordinator, district_code=SENDER)
    outcome = app_client.post(
        "/referrals/acknowledge",
        data={"csrf": csrf_of(app_client), "referral_id": [str(referral.id)]},
    )
    assert outcome.status_code == 422
    assert "只有接收区可以办理该协查" in outcome.text
    session.refresh(referral)
    assert referral.status == Status.pushed.value
    log_in(app_client, session, role=Role.lab, district_code=RECEIVER)
    lab = app_client.post(
        "/referrals/acknowledge",
        data={"csrf": csrf_of(app_client), "referral_id": [str(referral.id)]},
    )
    assert lab.status_code == 403


def test_a_note_is_added_on_the_referral_page_and_shown_in_its_history(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    referral = make_referral(session, protector)
    author = log_in(app_client, session, role=Role.district_coordinator, district_code=SENDER)
    page = app_client.get(f"/referrals/{referral.id}")
    assert 'id="note-form"' in page.text
    done = app_client.post(
        f"/referrals/{referral.id}/note",
        data={"csrf": csrf_of(app_client), "text": "此人已离开本区", "form_key": "note-1"},
        follow_redirects=False,
    )
    again = app_client.post(
        f"/referrals/{referral.id}/note",
        data={"csrf": csrf_of(app_client), "text": "此人已离开本区", "form_key": "note-1"},
        follow_redirects=False,
    )
    assert (done.status_code, again.status_code) == (303, 303)
    history = app_client.get(f"/referrals/{referral.id}")
    rows = re.findall(r'<tr data-event="noted">(.*?)</tr>', history.text, re.S)
    assert len(rows) == 1 and "此人已离开本区" in rows[0] and author.username in rows[0]
    empty = app_client.post(
        f"/referrals/{referral.id}/note", data={"csrf": csrf_of(app_client), "text": " "}
    )
    assert empty.status_code == 422
    assert "备注为空" in empty.text and "the note is empty" not in empty.text


def test_a_referral_given_to_a_field_worker_is_in_their_own_list(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    referral = make_referral(session, protector)
    other = make_referral(session, protector)
    worker, _ = make_user(
        session, role=Role.field_worker, district_code=RECEIVER, password=PASSWORD
    )
    log_in(app_client, session, role=Role.district_coordinator, district_code=RECEIVER)
    page = app_client.get(f"/referrals/{referral.id}")
    form = re.search(
        r'<form[^>]*id="assign-form"[^>]*data-confirm="[^"]+">(.*?)</form>', page.text, re.S
    )
    assert form is not None and f'<option value="{worker.username}"' in form.group(1)
    assert '<option value="" selected>' in form.group(1)
    done = app_client.post(
        f"/referrals/{referral.id}/assign",
        data={"csrf": csrf_of(app_client), "assignee": worker.username, "form_key": "assign-1"},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    inbox = app_client.get("/referrals")
    assert f'data-assignee="{worker.username}"' in inbox.text
    exported = app_client.get("/referrals.csv?box=inbox").content.decode("utf-8-sig")
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(exported))}
    assert rows[str(referral.id)]["assignee"] == worker.username
    assert rows[str(other.id)]["assignee"] == ""
    assert worker.username in app_client.get(f"/referrals/{referral.id}").text

    app_client.cookies.clear()
    app_client.post("/login", data={"username": worker.username, "password": PASSWORD})
    mine = app_client.get("/referrals?mine=1")
    assert row_ids(mine.text) == [referral.id]
    assert other.id in row_ids(app_client.get("/referrals").text)
    own = app_client.get(f"/referrals/{referral.id}")
    assert 'id="assign-form"' not in own.text
    refused = app_client.post(
        f"/referrals/{other.id}/assign",
        data={"csrf": csrf_of(app_client), "assignee": worker.username},
    )
    assert refused.status_code == 403


def test_an_assignment_refused_says_why_in_the_readers_language(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    referral = make_referral(session, protector)
    colleague, _ = make_user(
        session, role=Role.district_coordinator, district_code=RECEIVER, password=PASSWORD
    )
    log_in(app_client, session, role=Role.district_coordinator, district_code=RECEIVER)

    def assign(lang: str) -> str:
        refused = app_client.post(
            f"/referrals/{referral.id}/assign?lang={lang}",
            data={"csrf": csrf_of(app_client), "assignee": colleague.username},
        )
        assert refused.status_code == 422
        return refused.text

    chinese, english = assign("zh"), assign("en")
    assert f"不是外勤人员 ({colleague.username})" in chinese
    assert "not a field worker" not in chinese and "input refused" not in chinese
    assert f"not a field worker ({colleague.username})" in english
