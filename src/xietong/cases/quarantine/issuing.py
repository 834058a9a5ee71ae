"""Issuing quarantine orders to new close contacts, in sets: the policy's dates, a bed in a
facility of the contact's district when one is free on every bed day (never past its beds), or
none while the order waits for one.

The orders already running and the beds already taken are read once for the batch; the contacts
are then served in their order, each seeing the beds the earlier ones took, as they would one at
a time. One contact is a batch of one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.cases.models import QuarantineOrder
from xietong.cases.quarantine.rules import (
    FacilityBeds,
    NoQuarantine,
    QuarantinePlan,
    choose_facility,
    plan_quarantine,
)
from xietong.cases.quarantine.service import beds_taken, quarantine_facilities
from xietong.policy.service import policy_in_force
from xietong.storage.bulk_sql import chunks, dialect_of, insert_with_ids, member_of


@dataclass(frozen=True, kw_only=True)
class OrderFor:
    """A new contact that needs its order."""

    contact_id: int
    person_id: int | None
    district_id: int
    starts_on: date
    # A contact reported by a district that may not see its person gets its order whatever
    # runs, and the order does not name the person (the answer must not tell either).
    whatever_runs: bool = False


def issue_orders(
    session: Session, *, contacts: Sequence[OrderFor], now: datetime
) -> list[int | None]:
    """Each contact's order from the policy in force on its first day, with a bed if one is free;
    the order ids in the order of `contacts` (None: a person already under an order running past
    that day keeps it, or the policy quarantines nobody)."""
    plans: list[QuarantinePlan | None] = []
    for contact in contacts:
        try:
            plans.append(
                plan_quarantine(
                    policy_in_force(session, day=contact.starts_on).quarantine,
                    starts_on=contact.starts_on,
                )
            )
        except NoQuarantine:
            plans.append(None)
    running = _running_until(session, [c.person_id for c in contacts if c.person_id is not None])
    beds = _Beds(session, contacts, plans)
    rows: list[tuple[object, ...]] = []
    issued: list[bool] = []
    for contact, plan in zip(contacts, plans, strict=True):
        person_id = contact.person_id
        runs = person_id is not None and running.get(person_id, date.min) >= contact.starts_on
        if plan is None or (runs and not contact.whatever_runs):
            issued.append(False)
            continue
        facility_id = beds.take(contact.district_id, plan.bed_days)
        named = None if contact.whatever_runs else person_id
        if named is not None:
            running[named] = max(running.get(named, date.min), plan.ends_on)
        rows.append(
            (
                contact.contact_id,
                named,
                contact.district_id,
                facility_id,
                contact.starts_on if facility_id is not None else None,
                "active",
                plan.starts_on,
                plan.home_from,
                plan.ends_on,
                [d.isoformat() for d in plan.test_days],
                policy_in_force(session, day=contact.starts_on).version,
                now,
                now,
            )
        )
        issued.append(True)
    ids = iter(insert_with_ids(session, QuarantineOrder, _ORDER_COLUMNS, rows, copy=False))
    return [next(ids) if made else None for made in issued]


_ORDER_COLUMNS = (
    "contact_id",
    "person_id",
    "district_id",
    "facility_id",
    "bed_from",
    "status",
    "starts_on",
    "home_from",
    "ends_on",
    "test_days",
    "policy_version",
    "created_at",
    "updated_at",
)


def _running_until(session: Session, person_ids: Sequence[int]) -> dict[int, date]:
    """Person → the last day of its latest active order naming it."""
    until: dict[int, date] = {}
    dialect = dialect_of(session)
    for part in chunks(sorted(set(person_ids))):
        for person_id, ends_on in session.execute(
            select(QuarantineOrder.person_id, QuarantineOrder.ends_on).where(
                member_of(QuarantineOrder.person_id, part, dialect=dialect),
                QuarantineOrder.status == "active",
            )
        ):
            if person_id is not None:
                until[person_id] = max(until.get(person_id, date.min), ends_on)
    return until


class _Beds:
    """The facilities of the batch's districts (locked until the transaction ends) and their
    beds taken on the batch's days, updated as the batch takes beds."""

    def __init__(
        self,
        session: Session,
        contacts: Sequence[OrderFor],
        plans: Sequence[QuarantinePlan | None],
    ) -> None:
        days = [d for plan in plans if plan is not None for d in plan.bed_days]
        self.facilities: dict[int, list[FacilityBeds]] = {}
        self.occupied: dict[tuple[int, date], int] = {}
        if not days:
            return
        for district_id in sorted({c.district_id for c in contacts}):
            self.facilities[district_id] = quarantine_facilities(session, district_id=district_id)
        facility_ids = [f.id for found in self.facilities.values() for f in found]
        if facility_ids:
            self.occupied = beds_taken(
                session, facility_ids=facility_ids, first_day=min(days), last_day=max(days)
            )

    def take(self, district_id: int, days: Sequence[date]) -> int | None:
        facilities = self.facilities.get(district_id)
        if not facilities or not days:
            return None
        chosen = choose_facility(facilities, occupied=self.occupied, days=days)
        if chosen is not None:
            for day in days:
                self.occupied[(chosen, day)] = self.occupied.get((chosen, day), 0) + 1
        return chosen
