"""Lines on screen: every close contact and every quarantine order of the jurisdiction, each
list with its filters, pages and CSV, and one order with its days, bed and test days; a row
links to the contact's case and person, an order to its own page.

Reads go through `contact_service.list_contacts`, `quarantine_service.list_orders` and
`get_order`, the functions behind `/api/cases/contacts` and `/api/cases/quarantine-orders`
(same roles, same jurisdiction, every read audited).
"""

from __future__ import annotations

from typing import Any, cast

from fastapi import APIRouter, Request
from fastapi.responses import Response

from xietong.api.deps import SessionDep, get_protector
from xietong.cases.contacts import service as contact_service
from xietong.cases.quarantine import service as quarantine_service
from xietong.core.principal import Principal
from xietong.web.export import csv_response
from xietong.web.pages.cases import CASE_ROLES, EXPOSURES, parse_day
from xietong.web.pages.common import guard
from xietong.web.pages.listing import ExportableListPage
from xietong.web.rendering import render
from xietong.web.session import ViewerDep

router = APIRouter(include_in_schema=False)

# A contact's status is its own order's; "waiting" is an active order still without a bed.
ORDER_STATUSES = ("all", "active", "waiting", "released", "became_case", "cancelled")


def _status(value: str | None) -> str:
    return value if value in ORDER_STATUSES else "all"


def _district(value: str | None) -> str | None:
    return value or None


@router.get("/contacts")
def contacts_page(
    request: Request,
    listing: ExportableListPage,
    district: str | None = None,
    day: str | None = None,
    status: str | None = None,
) -> Response:
    session = listing.session
    chosen = _status(status)
    filters = {"district": district, "day": day, "status": chosen}

    def build(principal: Principal) -> Response:
        found, total = contact_service.list_contacts(
            session,
            principal=principal,
            district_code=_district(district),
            day=parse_day(day),
            status=None if chosen == "all" else cast(contact_service.ContactStatus, chosen),
            tz=listing.viewer.settings.timezone,
            limit=listing.limit,
            offset=listing.offset,
        )
        reads = contact_service.contact_reads(
            session,
            found,
            principal=principal,
            protector=None if listing.exporting else get_protector(request),
        )
        if listing.exporting:
            return csv_response(
                session,
                principal=principal,
                name="contacts",
                header=[
                    "id",
                    "case_id",
                    "person_id",
                    "identified",
                    "residence_district",
                    "residence_building",
                    "tracing_district",
                    "exposure",
                    "registered_at",
                    "order_id",
                    "order_status",
                    "facility",
                    "awaiting_bed",
                    "starts_on",
                    "ends_on",
                ],
                rows=[_contact_row(c) for c in reads],
                person_ids=[c.person_id for c in reads if c.person_id is not None],
                detail=filters,
            )
        context = {"statuses": ORDER_STATUSES, "exposures": EXPOSURES}
        return listing.render(
            "contacts.html", listing.page(reads, total), filters=filters, context=context
        )

    return listing.guard(build, roles=CASE_ROLES)


def _contact_row(c: Any) -> list[object]:
    o = c.quarantine_order
    return [
        c.id,
        c.case_id,
        c.person_id,
        c.identified,
        c.residence_district_code,
        c.residence_building_code,
        c.tracing_district_code,
        c.exposure_kind,
        c.registered_at.isoformat(),
        o.id if o else None,
        o.status if o else None,
        o.facility_code if o else None,
        o.awaiting_bed if o else None,
        o.starts_on.isoformat() if o else None,
        o.ends_on.isoformat() if o else None,
    ]


@router.get("/quarantine")
def quarantine_page(
    listing: ExportableListPage, district: str | None = None, status: str | None = None
) -> Response:
    session = listing.session
    chosen = _status(status)
    filters = {"district": district, "status": chosen}

    def build(principal: Principal) -> Response:
        found, total = quarantine_service.list_orders(
            session,
            principal=principal,
            district_code=_district(district),
            status=None if chosen == "all" else "active" if chosen == "waiting" else chosen,
            awaiting_bed=True if chosen == "waiting" else None,
            limit=listing.limit,
            offset=listing.offset,
        )
        reads = quarantine_service.order_reads(session, found)
        case_of = contact_service.cases_of_contacts(
            session, contact_ids=[o.contact_id for o in reads]
        )
        if listing.exporting:
            return csv_response(
                session,
                principal=principal,
                name="quarantine-orders",
                header=[
                    "id",
                    "contact_id",
                    "case_id",
                    "person_id",
                    "district",
                    "status",
                    "facility",
                    "awaiting_bed",
                    "bed_from",
                    "starts_on",
                    "home_from",
                    "ends_on",
                    "test_days",
                    "released_at",
                ],
                rows=[
                    [
                        o.id,
                        o.contact_id,
                        case_of.get(o.contact_id),
                        o.person_id,
                        o.district_code,
                        o.status,
                        o.facility_code,
                        o.awaiting_bed,
                        o.bed_from.isoformat() if o.bed_from else None,
                        o.starts_on.isoformat(),
                        o.home_from.isoformat(),
                        o.ends_on.isoformat(),
                        " ".join(d.isoformat() for d in o.test_days),
                        o.released_at.isoformat() if o.released_at else None,
                    ]
                    for o in reads
                ],
                person_ids=[o.person_id for o in reads if o.person_id is not None],
                detail=filters,
            )
        context = {"statuses": ORDER_STATUSES, "case_of": case_of}
        return listing.render(
            "quarantine.html", listing.page(reads, total), filters=filters, context=context
        )

    return listing.guard(build, roles=CASE_ROLES)


@router.get("/quarantine/{order_id}")
def order_page(order_id: int, viewer: ViewerDep, session: SessionDep) -> Response:
    def build(principal: Principal) -> Response:
        order = quarantine_service.get_order(session, principal=principal, order_id=order_id)
        read = quarantine_service.order_reads(session, [order])[0]
        case_id = contact_service.cases_of_contacts(session, contact_ids=[read.contact_id]).get(
            read.contact_id
        )
        return render(viewer, session, "quarantine_order.html", {"o": read, "case_id": case_id})

    return guard(viewer, session, build, roles=CASE_ROLES)
