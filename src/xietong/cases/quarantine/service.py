"""Quarantine orders of close contacts: issuing them from the policy with a bed in a facility of
the contact's district (never past its beds), giving waiting orders a bed when one frees, releases
on the end date with a negative test, and the beds in use that the resources domain plans with.

An order holds its person from its first to its last day; its bed from `bed_from` until home
isolation starts, or until the order ends early (the contact became a case).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, any_, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from xietong.areas import service as areas_service
from xietong.auth import service as auth_service
from xietong.cases.models import CloseContact, QuarantineOrder
from xietong.cases.quarantine.rules import (
    FacilityBeds,
    QuarantinePlan,
    ReleaseRefused,
    check_release,
    choose_facility,
)
from xietong.cases.schemas import FacilityUse, OccupancyRead, QuarantineOrderRead
from xietong.core.clock import DEFAULT_TZ, local_day
from xietong.core.errors import Conflict, NotFound
from xietong.core.principal import Permission, Principal
from xietong.resources.places import service as places_service
from xietong.storage.bulk_sql import chunks, dialect_of, member_of


def occupies_bed_on(day: date) -> ColumnElement[bool]:
    """Orders holding a facility bed on `day`: placed, not yet at home, not ended early."""
    return and_(
        QuarantineOrder.facility_id.is_not(None),
        QuarantineOrder.bed_from <= day,
        QuarantineOrder.home_from > day,
        or_(QuarantineOrder.ended_on.is_(None), QuarantineOrder.ended_on > day),
    )


def holds_person(person_id: int) -> ColumnElement[bool]:
    """Orders that hold `person_id`: naming it, or issued for a contact matched to it.

    A contact another district reported by national ID has an order that does not name the
    person (its tracing district may not see who it is), yet the person is held by it: a
    positive test under that order is found under control, and the order ends with the case.
    """
    return or_(
        QuarantineOrder.person_id == person_id,
        and_(
            QuarantineOrder.person_id.is_(None),
            QuarantineOrder.contact_id.in_(
                select(CloseContact.id).where(CloseContact.person_id == person_id)
            ),
        ),
    )


def active_order_of(
    session: Session, *, person_id: int, at: datetime, tz: str = DEFAULT_TZ
) -> QuarantineOrder | None:
    """The quarantine order holding `person_id` at the instant `at`, if any."""
    return active_orders_at(session, checks=[(person_id, at)], tz=tz)[0]


def holds_any(person_ids: Sequence[int], *, dialect: str) -> ColumnElement[bool]:
    """Orders that hold one of `person_ids` (see `holds_person`), as one parameter."""
    return or_(
        member_of(QuarantineOrder.person_id, person_ids, dialect=dialect),
        and_(
            QuarantineOrder.person_id.is_(None),
            QuarantineOrder.contact_id.in_(
                select(CloseContact.id).where(
                    member_of(CloseContact.person_id, person_ids, dialect=dialect)
                )
            ),
        ),
    )


def _holds_at(order: QuarantineOrder, at: datetime, day: date) -> bool:
    """Whether `order` held its person at `at` (local day `day`): running, or released or ended
    early only after that instant."""
    if not order.starts_on <= day <= order.ends_on:
        return False
    if order.status == "active":
        return True
    if order.status == "released":
        return order.released_at is not None and order.released_at > at
    return order.status in ("became_case", "cancelled") and (
        order.ended_on is not None and order.ended_on > day
    )


def active_orders_at(
    session: Session, *, checks: Sequence[tuple[int, datetime]], tz: str = DEFAULT_TZ
) -> list[QuarantineOrder | None]:
    """For each (person, instant): the order holding the person then (the first issued), if any;
    one statement per `chunks` of persons however many are asked about."""
    dialect = dialect_of(session)
    held: dict[int, list[QuarantineOrder]] = {}
    for part in chunks(sorted({p for p, _ in checks})):
        named = session.scalars(
            select(QuarantineOrder).where(
                member_of(QuarantineOrder.person_id, part, dialect=dialect)
            )
        )
        for order in named:
            held.setdefault(order.person_id or 0, []).append(order)
        # A reported contact's order names no person: it holds the contact's matched person.
        unnamed = session.execute(
            select(QuarantineOrder, CloseContact.person_id)
            .join(CloseContact, CloseContact.id == QuarantineOrder.contact_id)
            .where(
                QuarantineOrder.person_id.is_(None),
                member_of(CloseContact.person_id, part, dialect=dialect),
            )
        )
        for order, person_id in unnamed:
            held.setdefault(person_id or 0, []).append(order)
    found: list[QuarantineOrder | None] = []
    for person_id, at in checks:
        day = local_day(at, tz)
        holding = [o for o in held.get(person_id, ()) if _holds_at(o, at, day)]
        found.append(min(holding, key=lambda o: o.id) if holding else None)
    return found


def bed_holders(
    session: Session,
    *,
    key: InstrumentedAttribute[Any],
    days: Sequence[date],
    where: Sequence[ColumnElement[bool]] = (),
) -> Counter[tuple[Any, date]]:
    """(key, day) → orders holding a facility bed on each of `days` (`occupies_bed_on`), read
    in one query for all the days rather than one a day."""
    if not days:
        return Counter()
    first, last = min(days), max(days)
    rows = session.execute(
        select(
            key,
            QuarantineOrder.bed_from,
            QuarantineOrder.home_from,
            QuarantineOrder.ended_on,
            func.count(QuarantineOrder.id),
        )
        .where(
            QuarantineOrder.facility_id.is_not(None),
            QuarantineOrder.bed_from <= last,
            QuarantineOrder.home_from > first,
            or_(QuarantineOrder.ended_on.is_(None), QuarantineOrder.ended_on > first),
            *where,
        )
        .group_by(
            key, QuarantineOrder.bed_from, QuarantineOrder.home_from, QuarantineOrder.ended_on
        )
    )
    held: Counter[tuple[Any, date]] = Counter()
    wanted = sorted(set(days))
    for value, bed_from, home_from, ended_on, count in rows:
        for day in wanted:
            if bed_from <= day < home_from and (ended_on is None or ended_on > day):
                held[value, day] += int(count)
    return held


def bed_occupancy(session: Session, *, day: date) -> dict[int, dict[str, int]]:
    """Beds used on `day` by quarantine orders: district → facility kind → beds."""
    return bed_occupancy_by_day(session, days=[day])[0]


def bed_occupancy_by_day(
    session: Session, *, days: Sequence[date]
) -> list[dict[int, dict[str, int]]]:
    """`bed_occupancy` of each of `days`, in their order (one query for them all)."""
    held = bed_holders(session, key=QuarantineOrder.facility_id, days=days)
    facilities = places_service.facilities_by_id(session, ids=sorted({f for f, _ in held}))
    found: list[dict[int, dict[str, int]]] = []
    for day in days:
        used: dict[int, dict[str, int]] = {}
        for (facility_id, on), count in sorted(held.items()):
            if on != day:
                continue
            facility = facilities[facility_id]
            kinds = used.setdefault(facility.district_id, {})
            kinds[facility.kind] = kinds.get(facility.kind, 0) + count
        found.append(used)
    return found


def quarantine_facilities(session: Session, *, district_id: int) -> list[FacilityBeds]:
    """The district's centralised quarantine facilities with their beds, their rows locked until
    the caller's transaction ends (PostgreSQL) so that two orders never take the same last bed."""
    return [
        FacilityBeds(f.id, f.code, f.beds, f.available_from, f.available_to)
        for f in places_service.active_facilities(
            session,
            district_id=district_id,
            kind=places_service.CENTRALISED_QUARANTINE,
            lock=True,
        )
    ]


def assign_bed(session: Session, *, district_id: int, days: Sequence[date]) -> int | None:
    """A facility of the district with a free bed on every one of `days`, or None."""
    if not days:
        return None
    facilities = quarantine_facilities(session, district_id=district_id)
    if not facilities:
        return None
    occupied = beds_taken(
        session, facility_ids=[f.id for f in facilities], first_day=min(days), last_day=max(days)
    )
    return choose_facility(facilities, occupied=occupied, days=days)


def beds_taken(
    session: Session, *, facility_ids: Sequence[int], first_day: date, last_day: date
) -> dict[tuple[int, date], int]:
    """(facility, day) → beds taken by orders, for the days from `first_day` to `last_day`."""
    taken: dict[tuple[int, date], int] = {}
    rows = session.execute(
        select(
            QuarantineOrder.facility_id,
            QuarantineOrder.bed_from,
            QuarantineOrder.home_from,
            QuarantineOrder.ended_on,
        ).where(
            QuarantineOrder.facility_id.in_(list(facility_ids)),
            QuarantineOrder.bed_from <= last_day,
            QuarantineOrder.home_from > first_day,
            or_(QuarantineOrder.ended_on.is_(None), QuarantineOrder.ended_on > first_day),
        )
    )
    for facility_id, bed_from, home_from, ended_on in rows:
        if facility_id is None or bed_from is None:
            continue
        leaves = min(home_from, ended_on) if ended_on is not None else home_from
        day = max(bed_from, first_day)
        while day < leaves and day <= last_day:
            taken[(facility_id, day)] = taken.get((facility_id, day), 0) + 1
            day += timedelta(days=1)
    return taken


def assign_waiting_orders(
    session: Session, *, today: date, now: datetime, district_id: int | None = None
) -> list[int]:
    """Give beds to orders still waiting for one (oldest first); return the orders placed."""
    query = select(QuarantineOrder).where(
        QuarantineOrder.status == "active",
        QuarantineOrder.facility_id.is_(None),
        QuarantineOrder.home_from > today,
        QuarantineOrder.starts_on < QuarantineOrder.home_from,
    )
    if district_id is not None:
        query = query.where(QuarantineOrder.district_id == district_id)
    placed = []
    for order in session.scalars(query.order_by(QuarantineOrder.starts_on, QuarantineOrder.id)):
        first = max(today, order.starts_on)
        days = [first + timedelta(days=i) for i in range((order.home_from - first).days)]
        facility_id = assign_bed(session, district_id=order.district_id, days=days)
        if facility_id is None:
            continue
        order.facility_id = facility_id
        order.bed_from = first
        order.updated_at = now
        session.flush()
        placed.append(order.id)
    return placed


def get_order(session: Session, *, principal: Principal, order_id: int) -> QuarantineOrder:
    """An order of the principal's district, or of a contact the district traces."""
    principal.require(Permission.read_persons)
    order = session.get(QuarantineOrder, order_id)
    if order is None:
        raise NotFound(f"no quarantine order {order_id}", code="order_not_found")
    if principal.district_id is not None and order.district_id != principal.district_id:
        tracing = session.scalar(
            select(CloseContact.tracing_district_id).where(CloseContact.id == order.contact_id)
        )
        if tracing != principal.district_id:
            raise NotFound(f"no quarantine order {order_id}", code="order_not_found")
    _audit_read(session, principal, [order])
    return order


def list_orders(
    session: Session,
    *,
    principal: Principal,
    district_code: str | None = None,
    status: str | None = None,
    awaiting_bed: bool | None = None,
    ending_on: date | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[QuarantineOrder], int]:
    """Orders of the principal's district (or traced by it), filtered, oldest start first."""
    principal.require(Permission.read_persons)
    query = select(QuarantineOrder)
    if principal.district_id is not None:
        query = query.where(_held_or_traced(principal.district_id, dialect=dialect_of(session)))
    if district_code is not None:
        query = query.where(
            QuarantineOrder.district_id
            == areas_service.get_district(session, code=district_code).id
        )
    if status is not None:
        query = query.where(QuarantineOrder.status == status)
    if awaiting_bed is not None:
        waiting = and_(
            QuarantineOrder.facility_id.is_(None),
            QuarantineOrder.status == "active",
            QuarantineOrder.starts_on < QuarantineOrder.home_from,
        )
        query = query.where(waiting if awaiting_bed else ~waiting)
    if ending_on is not None:
        query = query.where(QuarantineOrder.ends_on == ending_on)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    orders = list(
        session.scalars(
            query.order_by(QuarantineOrder.starts_on, QuarantineOrder.id)
            .limit(limit)
            .offset(offset)
        )
    )
    _audit_read(session, principal, orders)
    return orders, total


def _held_or_traced(district_id: int, *, dialect: str) -> ColumnElement[bool]:
    """The orders the district holds, or of the contacts it traces.

    On PostgreSQL the contacts it traces are one array (read through their index), so that both
    sides of the OR are index reads whose bitmaps are ORed: with `IN (subquery)` the OR was a
    filter on every order of the city, for the list and again for its count (about 100 ms each
    at 197,000 orders)."""
    traced = select(CloseContact.id).where(CloseContact.tracing_district_id == district_id)
    held = QuarantineOrder.district_id == district_id
    if dialect == "postgresql":
        return or_(held, QuarantineOrder.contact_id == any_(func.array(traced.scalar_subquery())))
    return or_(held, QuarantineOrder.contact_id.in_(traced))


def _audit_read(session: Session, principal: Principal, orders: list[QuarantineOrder]) -> None:
    # An order names a person and where it is held: every read is audited like a person's.
    auth_service.record_audit(
        session,
        principal=principal,
        action="read",
        entity="quarantine_order",
        entity_ids=[o.id for o in orders],
    )


def order_reads(session: Session, orders: Sequence[QuarantineOrder]) -> list[QuarantineOrderRead]:
    codes = areas_service.district_code_by_id(session)
    facilities = places_service.facilities_by_id(session, ids=[o.facility_id for o in orders])
    return [
        QuarantineOrderRead(
            id=o.id,
            contact_id=o.contact_id,
            person_id=o.person_id,
            district_code=codes[o.district_id],
            facility_code=facilities[o.facility_id].code if o.facility_id in facilities else None,
            awaiting_bed=o.facility_id is None
            and o.status == "active"
            and o.starts_on < o.home_from,
            status=o.status,
            starts_on=o.starts_on,
            home_from=o.home_from,
            ends_on=o.ends_on,
            test_days=[date.fromisoformat(d) for d in o.test_days],
            policy_version=o.policy_version,
            bed_from=o.bed_from,
            ended_on=o.ended_on,
            released_at=o.released_at,
            release_test_at=o.release_test_at,
            release_test_result=o.release_test_result,
        )
        for o in orders
    ]


def release_order(
    session: Session,
    *,
    principal: Principal,
    order_id: int,
    tested_at: datetime,
    result: str,
    released_at: datetime,
    tz: str = DEFAULT_TZ,
) -> QuarantineOrder:
    """Release a contact on the order's end date with a negative test (recorded with it)."""
    principal.require(Permission.write_persons)
    order = get_order(session, principal=principal, order_id=order_id)
    if order.status != "active":
        raise Conflict(f"the order is {order.status}", code="order_not_active")
    plan = QuarantinePlan(
        order.starts_on,
        order.home_from,
        order.ends_on,
        tuple(date.fromisoformat(d) for d in order.test_days),
    )
    try:
        check_release(
            plan,
            release_day=local_day(released_at, tz),
            test_day=local_day(tested_at, tz),
            test_result=result,
        )
    except ReleaseRefused as exc:
        raise Conflict(str(exc), code="release_refused") from None
    order.status = "released"
    order.released_at = released_at
    order.release_test_at = tested_at
    order.release_test_result = result
    order.released_by = principal.username
    order.updated_at = released_at
    session.flush()
    auth_service.record_audit(
        session,
        principal=principal,
        action="release",
        entity="quarantine_order",
        entity_ids=[order.id],
        detail={"result": result, "tested_at": tested_at.isoformat()},
    )
    return order


def occupancy(session: Session, *, principal: Principal, day: date) -> OccupancyRead:
    """Beds used per facility on `day` (a district sees its own), and orders waiting for a bed."""
    principal.require(Permission.read_persons)
    facilities = {
        f.id: f
        for f in places_service.active_facilities(session, district_id=principal.district_id)
    }
    used = dict(
        session.execute(
            select(QuarantineOrder.facility_id, func.count(QuarantineOrder.id))
            .where(occupies_bed_on(day))
            .group_by(QuarantineOrder.facility_id)
        ).all()
    )
    waiting = select(func.count(QuarantineOrder.id)).where(
        QuarantineOrder.status == "active",
        QuarantineOrder.facility_id.is_(None),
        QuarantineOrder.starts_on <= day,
        QuarantineOrder.home_from > day,
    )
    if principal.district_id is not None:
        waiting = waiting.where(QuarantineOrder.district_id == principal.district_id)
    codes = areas_service.district_code_by_id(session)
    return OccupancyRead(
        day=day,
        facilities=[
            FacilityUse(
                facility_code=f.code,
                district_code=codes[f.district_id],
                kind=f.kind,
                beds=f.beds,
                used=int(used.get(f.id, 0)),
            )
            for f in sorted(facilities.values(), key=lambda f: f.code)
        ],
        awaiting_bed=session.scalar(waiting) or 0,
    )
