"""What the twin reads straight from the domains' tables to play its people and laboratories:
who is a case or under a quarantine order (and so not in the community's queue), which swabs a
tube holds (the laboratory has the tube in hand), which tubes still wait for a result.

Read-only: every change the twin makes goes through the domains' services.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from xietong.cases.models import Case, CloseContact, QuarantineOrder
from xietong.screening.models import LabResult, Membership, RetestTask, Tube
from xietong.twin.world import City, int_rows

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def _mask(city: City, person_ids: list[int]) -> BoolArray:
    mask = np.zeros(city.size, dtype=np.bool_)
    index = city.index_of(np.array(person_ids, dtype=np.int64))
    mask[index[(index >= 0) & (index < city.size)]] = True
    return mask


def cases(session: Session, city: City) -> BoolArray:
    """Persons who are cases (isolated for care: never in a screening queue again)."""
    return _mask(city, list(session.scalars(select(Case.person_id))))


@dataclass(frozen=True)
class Orders:
    """Active quarantine orders: person index, order id, district, first and last day, test days."""

    person: IntArray
    order_id: list[int]
    district_id: list[int]
    starts_on: list[date]
    ends_on: list[date]
    test_days: list[list[date]]

    def isolated_on(self, city: City, day: date) -> BoolArray:
        mask = np.zeros(city.size, dtype=np.bool_)
        for k, person in enumerate(self.person.tolist()):
            if self.starts_on[k] <= day <= self.ends_on[k]:
                mask[person] = True
        return mask


def active_orders(session: Session, city: City) -> Orders:
    # A reported contact's order does not name its person; the contact was matched to it.
    person = func.coalesce(QuarantineOrder.person_id, CloseContact.person_id)
    rows = session.execute(
        select(
            person,
            QuarantineOrder.id,
            QuarantineOrder.district_id,
            QuarantineOrder.starts_on,
            QuarantineOrder.ends_on,
            QuarantineOrder.test_days,
        )
        .join(CloseContact, CloseContact.id == QuarantineOrder.contact_id, isouter=True)
        .where(QuarantineOrder.status == "active", person.is_not(None))
        .order_by(QuarantineOrder.id)
    ).all()
    rows = [r for r in rows if 0 <= r[0] - city.first_person_id < city.size]
    return Orders(
        person=np.array([r[0] - city.first_person_id for r in rows], dtype=np.int64),
        order_id=[r[1] for r in rows],
        district_id=[r[2] for r in rows],
        starts_on=[r[3] for r in rows],
        ends_on=[r[4] for r in rows],
        test_days=[[date.fromisoformat(d) for d in r[5]] for r in rows],
    )


def awaiting_retest(session: Session, city: City) -> BoolArray:
    """Members of a positive pool still waiting for their single-tube retest."""
    return _mask(
        city, list(session.scalars(select(RetestTask.person_id).where(RetestTask.status == "open")))
    )


@dataclass(frozen=True)
class Unresulted:
    """Tubes of a round without a result of record, and their members: for each membership,
    the person's index in the city and the tube's position in `codes`."""

    codes: list[str]
    district_id: IntArray
    pooled: BoolArray
    member_person: IntArray
    member_tube: IntArray


def unresulted_tubes(session: Session, city: City, *, day: date) -> Unresulted:
    waiting = (
        select(Tube.id)
        .outerjoin(LabResult, LabResult.tube_id == Tube.id)
        .where(Tube.round_day == day, LabResult.id.is_(None))
    )
    tubes = session.execute(
        select(Tube.id, Tube.code, Tube.district_id, Tube.pool_size)
        .where(Tube.id.in_(waiting))
        .order_by(Tube.id)
    ).all()
    if not tubes:
        empty = np.empty(0, dtype=np.int64)
        return Unresulted([], empty, np.empty(0, dtype=np.bool_), empty, empty)
    ids = np.array([t[0] for t in tubes], dtype=np.int64)
    pairs = int_rows(
        session,
        select(Membership.tube_id, Membership.person_id).where(
            Membership.round_day == day, Membership.tube_id.in_(waiting)
        ),
        2,
    )
    return Unresulted(
        codes=[t[1] for t in tubes],
        district_id=np.array([t[2] for t in tubes], dtype=np.int64),
        pooled=np.array([t[3] > 1 for t in tubes], dtype=np.bool_),
        member_person=city.index_of(pairs[:, 1]),
        member_tube=np.searchsorted(ids, pairs[:, 0]),
    )


def members_of(session: Session, city: City, *, tube_codes: list[str]) -> dict[str, IntArray]:
    """The members of some tubes (person indices), by tube code."""
    found: dict[str, list[int]] = {code: [] for code in tube_codes}
    if not tube_codes:
        return {}
    rows = session.execute(
        select(Tube.code, Membership.person_id)
        .join(
            Membership, and_(Membership.tube_id == Tube.id, Membership.round_day == Tube.round_day)
        )
        .where(Tube.code.in_(tube_codes))
        .order_by(Tube.code, Membership.person_id)
    )
    for code, person in rows:
        found[code].append(person - city.first_person_id)
    return {code: np.array(v, dtype=np.int64) for code, v in found.items()}


@dataclass(frozen=True)
class CaseIndex:
    """Per person: the case id (-1: not a case) and its report day's ordinal."""

    case_id: IntArray
    report_day: IntArray

    def is_case(self) -> BoolArray:
        return self.case_id >= 0


def case_index(session: Session, city: City) -> CaseIndex:
    case_id = np.full(city.size, -1, dtype=np.int64)
    report_day = np.full(city.size, -1, dtype=np.int64)
    for person, case, day in session.execute(
        select(Case.person_id, Case.id, Case.report_day).order_by(Case.id)
    ):
        i = person - city.first_person_id
        if 0 <= i < city.size:
            case_id[i] = case
            report_day[i] = day.toordinal()
    return CaseIndex(case_id, report_day)
