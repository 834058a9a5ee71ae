"""Referrals are opened in the same transaction as their cause: a positive pool whose member lives
in another district (through the results intake flow), and a close contact living elsewhere;
re-ingesting the same results opens nothing new."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories.cases import add_contact, make_case
from tests.factories.referrals import district_id
from tests.factories.screening import NOW, TZ, make_persons, make_site, register, result, tube
from xietong.core.principal import SYSTEM
from xietong.flows.intake import ingest_lab_results
from xietong.flows.referrals import open_referrals_from_needs
from xietong.people.protection import PersonalDataProtector
from xietong.referrals.models import Referral
from xietong.screening.schemas import LabResultBatch

FOUND_IN, LIVES_IN = "500106", "500108"


def referrals_of(session: Session, person_ids: list[int]) -> list[Referral]:
    return list(session.scalars(select(Referral).where(Referral.person_id.in_(person_ids))))


def test_a_positive_pool_refers_its_members_who_live_elsewhere_once(
    session: Session, protector: PersonalDataProtector
) -> None:
    site = make_site(session, district_code=FOUND_IN)
    visitors = make_persons(
        session, protector, 2, district_code=LIVES_IN, current_district_code=FOUND_IN
    )
    locals_ = make_persons(session, protector, 8, district_code=FOUND_IN)
    pool = tube(site, [p.id for p in visitors + locals_])
    register(session, pool)
    batch = LabResultBatch(results=[result(pool.tube_code, "positive", ct=31.0)])
    for _ in range(2):  # the laboratory sends the same file twice
        report = ingest_lab_results(session, principal=SYSTEM, tz=TZ, now=NOW, batch=batch)
    referrals = referrals_of(session, [p.id for p in visitors + locals_])
    assert sorted(r.person_id for r in referrals) == sorted(p.id for p in visitors)
    assert {(r.reason, r.from_district_id, r.to_district_id) for r in referrals} == {
        ("pooled_positive", district_id(session, FOUND_IN), district_id(session, LIVES_IN))
    }
    assert all(r.evidence.startswith("tube:") and r.status == "pushed" for r in referrals)
    assert report.followed_up["referrals"]["opened"] == 0


def test_a_close_contact_living_elsewhere_is_referred_to_that_district(
    session: Session, protector: PersonalDataProtector
) -> None:
    case = make_case(session, protector, district_code=FOUND_IN)
    contact = add_contact(session, protector, case, district_code=LIVES_IN)
    first = open_referrals_from_needs(session, now=NOW, tz=TZ)
    again = open_referrals_from_needs(session, now=NOW, tz=TZ)
    assert first == {"needs": 1, "opened": 1} and again == {"needs": 0, "opened": 0}
    (referral,) = [
        r for r in referrals_of(session, [contact.person_id or 0]) if r.reason == "close_contact"
    ]
    assert referral.evidence == f"contact:{contact.id}"
    assert referral.to_district_id == district_id(session, LIVES_IN)
