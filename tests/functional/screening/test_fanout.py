"""What a positive sets off, in the result's transaction: every member of a positive pool held
in place and retested by single tube where it is now, a referral need for those living in another
district, a case candidate for a positive single tube; a retest result ends the hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import screening as f
from tests.factories.auth import district_user
from xietong.areas import service as areas_service
from xietong.auth.models import AuditEntry
from xietong.core.principal import SYSTEM
from xietong.people.models import Person
from xietong.people.protection import PersonalDataProtector
from xietong.screening import service
from xietong.screening.models import Hold, RetestTask

POSITIVE_AT = f.SAMPLED_AT + timedelta(hours=3)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def household(session: Session, protector: PersonalDataProtector) -> tuple[Person, Person, Person]:
    """Sampled in 500103: a local, a resident of 500106 staying here, a local now in 500112."""
    local = f.make_persons(session, protector, 1, district_code="500103")[0]
    visitor = f.make_persons(
        session, protector, 1, district_code="500106", current_district_code="500103"
    )[0]
    away = f.make_persons(
        session, protector, 1, district_code="500103", current_district_code="500112"
    )[0]
    return local, visitor, away


def test_a_positive_pool_holds_and_retests_every_member_where_it_is_now(
    session: Session, protector: PersonalDataProtector
) -> None:
    site = f.make_site(session, district_code="500103")
    local, visitor, away = household(session, protector)
    pool = f.tube(site, [local.id, visitor.id, away.id])
    f.register(session, pool)
    report = f.report(
        session, f.result(pool.tube_code, "positive", ct=27.0, reported_at=POSITIVE_AT)
    )
    assert (report.pooled_positive, report.holds, report.retests, report.case_candidates) == (
        1,
        3,
        3,
        0,
    )
    ids = areas_service.district_id_by_code(session)
    retests = dict(
        session.execute(
            select(RetestTask.person_id, RetestTask.district_id).where(
                RetestTask.person_id.in_([local.id, visitor.id, away.id])
            )
        ).all()
    )
    assert retests == {local.id: ids["500103"], visitor.id: ids["500103"], away.id: ids["500112"]}
    held_where = dict(
        session.execute(
            select(Hold.person_id, Hold.district_id).where(Hold.person_id.in_(retests))
        ).all()
    )
    assert held_where == retests
    assert service.is_held(session, person_id=away.id, at=POSITIVE_AT + timedelta(minutes=1))
    assert not service.is_held(session, person_id=away.id, at=POSITIVE_AT - timedelta(minutes=1))


def test_only_members_living_in_another_district_need_a_referral(
    session: Session, protector: PersonalDataProtector
) -> None:
    site = f.make_site(session, district_code="500103")
    local, visitor, away = household(session, protector)
    pool = f.tube(site, [local.id, visitor.id, away.id])
    f.register(session, pool)
    f.report(session, f.result(pool.tube_code, "positive", reported_at=POSITIVE_AT))
    ids = areas_service.district_id_by_code(session)
    needs = [
        n
        for n in service.pending_referral_needs(session)
        if n.person_id in (local.id, visitor.id, away.id)
    ]
    assert [(n.person_id, n.reason, n.from_district_id, n.to_district_id) for n in needs] == [
        (visitor.id, "pooled_positive", ids["500103"], ids["500106"])
    ]
    service.mark_referral_needs_opened(
        session, need_ids=[n.id for n in needs], now=datetime.now(UTC)
    )
    assert all(n.person_id != visitor.id for n in service.pending_referral_needs(session))


def test_a_negative_pool_sets_off_nothing(
    session: Session, protector: PersonalDataProtector
) -> None:
    site = f.make_site(session)
    local, visitor, away = household(session, protector)
    pool = f.tube(site, [local.id, visitor.id, away.id])
    f.register(session, pool)
    report = f.report(session, f.result(pool.tube_code, "negative"))
    assert (report.holds, report.retests, report.referral_needs, report.case_candidates) == (
        0,
        0,
        0,
        0,
    )
    assert not service.is_held(session, person_id=visitor.id, at=f.NOW)


def test_single_tube_retests_end_the_holds_and_a_positive_one_is_a_case_candidate(
    session: Session, protector: PersonalDataProtector
) -> None:
    site = f.make_site(session, district_code="500103")
    local, visitor, away = household(session, protector)
    pool = f.tube(site, [local.id, visitor.id, away.id])
    f.register(session, pool)
    f.report(session, f.result(pool.tube_code, "positive", reported_at=POSITIVE_AT))
    retest_at = POSITIVE_AT + timedelta(hours=1)
    local_retest = f.tube(site, [local.id], pool_size=1, kind="retest", collected_at=retest_at)
    visitor_retest = f.tube(site, [visitor.id], pool_size=1, kind="retest", collected_at=retest_at)
    later = f.NOW + timedelta(hours=3)
    f.register(session, local_retest, visitor_retest, now=later)
    result_at = retest_at + timedelta(hours=2)
    report = f.report(
        session,
        f.result(local_retest.tube_code, "negative", reported_at=result_at),
        f.result(visitor_retest.tube_code, "positive", ct=21.0, reported_at=result_at),
        now=later,
    )
    assert (report.retests_done, report.holds_released, report.case_candidates) == (2, 2, 1)
    assert not service.is_held(session, person_id=local.id, at=result_at + timedelta(minutes=1))
    # Held when the retest swab was taken: the case is found under control.
    assert service.is_held(session, person_id=visitor.id, at=retest_at)
    assert service.is_held(session, person_id=away.id, at=result_at + timedelta(minutes=1))
    candidates = [c for c in service.pending_case_candidates(session) if c.person_id == visitor.id]
    assert [(c.sampled_at, c.detected_at) for c in candidates] == [(retest_at, result_at)]
    needs = {(n.person_id, n.reason) for n in service.pending_referral_needs(session)}
    assert {(visitor.id, "pooled_positive"), (visitor.id, "positive")} <= needs
    service.mark_case_candidates_consumed(
        session, candidate_ids=[c.id for c in candidates], now=datetime.now(UTC)
    )
    assert all(c.person_id != visitor.id for c in service.pending_case_candidates(session))
    outcomes = dict(
        session.execute(
            select(RetestTask.person_id, RetestTask.outcome).where(
                RetestTask.source_tube_id.is_not(None),
                RetestTask.person_id.in_([local.id, visitor.id, away.id]),
            )
        ).all()
    )
    assert outcomes == {local.id: "negative", visitor.id: "positive", away.id: None}


def test_a_district_lists_the_retests_due_where_its_people_are_and_the_read_is_audited(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    site = f.make_site(session, district_code="500103")
    local, visitor, away = household(session, protector)
    pool = f.tube(site, [local.id, visitor.id, away.id])
    f.register(session, pool)
    f.report(session, f.result(pool.tube_code, "positive", reported_at=POSITIVE_AT))
    _, token = district_user(session, "500112")
    page = app_client.get("/api/screening/retests", headers=auth(token)).json()
    assert [
        (r["person_id"], r["source_tube_code"])
        for r in page["items"]
        if r["source_tube_code"] == pool.tube_code
    ] == [(away.id, pool.tube_code)]
    audited = session.scalar(
        select(func.count()).where(
            AuditEntry.entity == "person",
            AuditEntry.entity_id == str(away.id),
            AuditEntry.action == "list",
        )
    )
    assert audited == 1
    assert SYSTEM.is_city
