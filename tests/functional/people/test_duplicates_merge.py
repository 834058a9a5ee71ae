"""Merging two records of one person: every record pointing at the duplicate (tubes, holds,
retests, case, contacts, quarantine orders, referrals, building infections, access grants)
moves to the survivor in one transaction; the duplicate is kept, marked merged, no longer
listed or proposed; the audit names who, when, both ids and the counts moved. Two cases of one
person are refused and nothing is written."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import screening as screening_factory
from tests.factories.auth import command_user, district_user
from tests.factories.cases import add_contact, make_case
from tests.factories.clock import TZ
from tests.factories.screening import make_site, register, result, tube
from tests.functional.people.test_duplicates_find import auth, pairs, person
from xietong.auth.models import AuditEntry
from xietong.cases.models import Case, CloseContact, ContactReferralNeed, QuarantineOrder
from xietong.core.errors import Conflict
from xietong.core.principal import SYSTEM
from xietong.flows import intake
from xietong.flows.duplicates import MERGED, merge_duplicates
from xietong.outbox.models import OutboxMessage
from xietong.people import duplicates, service
from xietong.people.models import Person, PersonAccessGrant
from xietong.people.protection import PersonalDataProtector
from xietong.referrals.models import Referral
from xietong.screening.models import (
    CaseCandidate,
    Hold,
    Membership,
    ReferralNeed,
    RetestTask,
)
from xietong.screening.schemas import LabResultBatch, LabResultIn
from xietong.zones.models import BuildingInfection

NOW = datetime(2022, 11, 16, 2, tzinfo=UTC)
LINKED: tuple[Any, ...] = (
    Membership,
    Hold,
    RetestTask,
    CaseCandidate,
    ReferralNeed,
    Case,
    CloseContact,
    QuarantineOrder,
    ContactReferralNeed,
    Referral,
    BuildingInfection,
    PersonAccessGrant,
)


def counts(session: Session, person_id: int) -> dict[str, int]:
    return {
        model.__tablename__: session.scalar(
            select(func.count()).select_from(model).where(model.person_id == person_id)
        )
        or 0
        for model in LINKED
    }


def ingest(session: Session, results: Sequence[LabResultIn]) -> None:
    intake.ingest_lab_results(
        session,
        principal=SYSTEM,
        tz=TZ,
        now=screening_factory.NOW,
        batch=LabResultBatch(results=list(results)),
    )


def pair_of(session: Session, protector: PersonalDataProtector, name: str) -> tuple[Person, Person]:
    survivor = person(session, protector, name=name, district="500106")
    duplicate = person(session, protector, name=name, district="500106")
    return survivor, duplicate


def test_a_merge_moves_every_linked_record_and_the_audit_shows_it(
    session: Session, protector: PersonalDataProtector
) -> None:
    survivor, duplicate = pair_of(session, protector, "冯二")
    # The same screening round: the duplicate in a positive pool and a positive single tube
    # sampled in another district, the survivor in a negative tube.
    site = make_site(session, district_code="500108")
    neighbour = person(session, protector, name="邻居", district="500106")
    pool, single, clean = (
        tube(site, [duplicate.id, neighbour.id]),
        tube(site, [duplicate.id], pool_size=1),
        tube(site, [survivor.id]),
    )
    # The positive pool's member is swabbed again by single tube once the pool is back.
    register(session, pool)
    ingest(session, [result(pool.tube_code, "positive", ct=25.0)])
    # A contact of a case reported in another district: a quarantine order and a referral.
    elsewhere = make_case(session, protector, district_code="500108")
    add_contact(session, protector, elsewhere, person=duplicate)
    register(session, single, clean)
    ingest(
        session,
        [result(single.tube_code, "positive", ct=24.0), result(clean.tube_code, "negative")],
    )
    service.grant_access(
        session, person_id=duplicate.id, district_id=elsewhere.report_district_id, reason="test"
    )
    before_duplicate, before_survivor = counts(session, duplicate.id), counts(session, survivor.id)
    missing = [table for table, n in before_duplicate.items() if n == 0]
    assert missing == [], f"the scenario gives the duplicate no {missing}"
    duplicates.find_duplicates(session, principal=SYSTEM, now=NOW)
    pair = pairs(session)[(survivor.id, duplicate.id)]
    principal, _ = command_user(session)

    report = merge_duplicates(
        session, principal=principal, pair_id=pair.id, survivor_id=survivor.id, now=NOW
    )

    assert counts(session, duplicate.id) == dict.fromkeys(before_duplicate, 0)
    after = counts(session, survivor.id)
    assert after == {t: before_survivor[t] + before_duplicate[t] for t in after}
    assert {t: n for t, n in report.moved.items() if n} == before_duplicate
    # Both in one round, in different tubes: the survivor keeps both swabs of the round.
    days = session.scalars(select(Membership.round_day).where(Membership.person_id == survivor.id))
    assert len(set(days)) == 1 and after["screening_membership"] == 3
    session.refresh(duplicate)
    assert (duplicate.merged_into_id, duplicate.merged_at) == (survivor.id, NOW)
    session.refresh(pair)
    assert (pair.status, pair.survivor_id, pair.decided_by) == (
        "merged",
        survivor.id,
        principal.username,
    )
    audit = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "merge", AuditEntry.entity == "person")
    ).all()
    assert sorted(int(a.entity_id) for a in audit) == sorted([survivor.id, duplicate.id])
    detail = audit[0].detail or {}
    assert detail["survivor_id"] == survivor.id and detail["merged_id"] == duplicate.id
    assert detail["moved"] == report.moved
    assert audit[0].username == principal.username
    # Kept, found by id with its survivor named, no longer listed nor proposed.
    read = service.to_read(
        session, service.get_person(session, principal=SYSTEM, person_id=duplicate.id), protector
    )
    assert read.merged_into == survivor.id
    listed, _ = service.list_persons(session, principal=SYSTEM, limit=10_000)
    assert duplicate.id not in {p.id for p in listed}
    third = person(session, protector, name="冯二", district="500106")
    assert duplicates.find_duplicates(session, principal=SYSTEM, now=NOW).proposed == 1
    assert (survivor.id, third.id) in pairs(session)


def test_a_merge_tells_both_persons_districts_and_the_command_centre(
    session: Session, protector: PersonalDataProtector
) -> None:
    survivor, duplicate = pair_of(session, protector, "卫五")
    # The duplicate stays in another district, where a case's contact tracing found it.
    elsewhere = make_case(session, protector, district_code="500108")
    add_contact(session, protector, elsewhere, person=duplicate)
    duplicate.current_district_id = elsewhere.report_district_id
    session.flush()
    duplicates.find_duplicates(session, principal=SYSTEM, now=NOW)
    pair = pairs(session)[(survivor.id, duplicate.id)]

    merge_duplicates(session, principal=SYSTEM, pair_id=pair.id, survivor_id=survivor.id, now=NOW)

    (message,) = session.scalars(select(OutboxMessage).where(OutboxMessage.topic == MERGED))
    assert set(message.audience) == {
        survivor.residence_district_id,
        duplicate.residence_district_id,
        duplicate.current_district_id,
        None,
    }
    assert message.payload["survivor_id"] == survivor.id
    assert message.payload["merged_id"] == duplicate.id
    assert message.payload["moved"]["cases_close_contact"] == 1
    assert message.payload["actor"] == SYSTEM.username
    # Ids and counts only: nothing in the notice names the person.
    assert "卫五" not in str(message.payload)


def test_two_cases_of_one_person_are_refused_and_nothing_moves(
    session: Session, protector: PersonalDataProtector
) -> None:
    survivor, duplicate = pair_of(session, protector, "陈三")
    make_case(session, protector, person=survivor)
    make_case(session, protector, person=duplicate)
    duplicates.find_duplicates(session, principal=SYSTEM, now=NOW)
    pair = pairs(session)[(survivor.id, duplicate.id)]
    before = counts(session, duplicate.id)
    with pytest.raises(Conflict) as refused, session.begin_nested():
        merge_duplicates(
            session, principal=SYSTEM, pair_id=pair.id, survivor_id=survivor.id, now=NOW
        )
    assert refused.value.code == "merge_conflict"
    assert "both persons have a case" in refused.value.message
    assert counts(session, duplicate.id) == before
    session.refresh(pair)
    assert pair.status == "open"


def test_both_in_the_same_tube_keep_the_survivors_membership(
    session: Session, protector: PersonalDataProtector
) -> None:
    survivor, duplicate = pair_of(session, protector, "褚四")
    site = make_site(session, district_code="500106")
    shared = tube(site, [survivor.id, duplicate.id])
    register(session, shared)
    duplicates.find_duplicates(session, principal=SYSTEM, now=NOW)
    pair = pairs(session)[(survivor.id, duplicate.id)]
    report = merge_duplicates(
        session, principal=SYSTEM, pair_id=pair.id, survivor_id=survivor.id, now=NOW
    )
    assert report.moved["screening_membership"] == 0
    assert report.moved["screening_membership_dropped"] == 1
    assert counts(session, survivor.id)["screening_membership"] == 1
    assert counts(session, duplicate.id)["screening_membership"] == 0


def test_both_in_open_tubes_of_one_round_wait_for_a_result(
    session: Session, protector: PersonalDataProtector
) -> None:
    survivor, duplicate = pair_of(session, protector, "沈七")
    site = make_site(session, district_code="500106")
    theirs, ours = tube(site, [duplicate.id]), tube(site, [survivor.id])
    register(session, theirs, ours)
    duplicates.find_duplicates(session, principal=SYSTEM, now=NOW)
    pair = pairs(session)[(survivor.id, duplicate.id)]
    with pytest.raises(Conflict) as refused, session.begin_nested():
        merge_duplicates(
            session, principal=SYSTEM, pair_id=pair.id, survivor_id=survivor.id, now=NOW
        )
    assert refused.value.code == "merge_conflict"
    assert theirs.tube_code in refused.value.message and ours.tube_code in refused.value.message
    ingest(session, [result(ours.tube_code, "negative")])
    report = merge_duplicates(
        session, principal=SYSTEM, pair_id=pair.id, survivor_id=survivor.id, now=NOW
    )
    assert report.moved["screening_membership"] == 1
    assert counts(session, survivor.id)["screening_membership"] == 2


def test_the_merge_route_is_scoped_and_names_a_bad_field(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    survivor, duplicate = pair_of(session, protector, "卫五")
    duplicates.find_duplicates(session, principal=SYSTEM, now=NOW)
    pair = pairs(session)[(survivor.id, duplicate.id)]
    _, other = district_user(session, "500108")
    hidden = app_client.post(
        f"/api/people/duplicates/{pair.id}/merge",
        json={"survivor_id": survivor.id},
        headers=auth(other),
    )
    assert hidden.status_code == 404
    _, ours = district_user(session, "500106")
    bad = app_client.post(
        f"/api/people/duplicates/{pair.id}/merge",
        json={"survivor_id": survivor.id + duplicate.id},
        headers=auth(ours),
    )
    assert bad.status_code == 422
    [error] = bad.json()["error"]["details"]
    assert error["field"] == "survivor_id"
    assert f"{survivor.id} or {duplicate.id}" in error["reason"]
    merged = app_client.post(
        f"/api/people/duplicates/{pair.id}/merge",
        json={"survivor_id": duplicate.id},
        headers=auth(ours),
    )
    assert merged.status_code == 200, merged.text
    assert merged.json()["merged_id"] == survivor.id
    again = app_client.post(
        f"/api/people/duplicates/{pair.id}/merge",
        json={"survivor_id": duplicate.id},
        headers=auth(ours),
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "pair_not_open"


def test_a_merged_person_is_not_proposed_again(
    session: Session, protector: PersonalDataProtector
) -> None:
    born = date(1942, 5, 5)
    a = person(session, protector, name="蒋六", born=born)
    b = person(session, protector, name="蒋六", born=born)
    c = person(session, protector, name="蒋六", born=born)
    duplicates.find_duplicates(session, principal=SYSTEM, now=NOW)
    found = pairs(session)
    merge_duplicates(
        session, principal=SYSTEM, pair_id=found[(a.id, b.id)].id, survivor_id=a.id, now=NOW
    )
    statuses = {k: p.status for k, p in pairs(session).items()}
    assert statuses == {
        (a.id, b.id): "merged",
        (a.id, c.id): "open",
        (b.id, c.id): "superseded",
    }
    assert duplicates.find_duplicates(session, principal=SYSTEM, now=NOW).proposed == 0
