"""Screening on screen: the day's plan by district and building (which half of 隔天一檢 is due),
coverage by building, the persons a round missed in one building, and a tube lookup.

The plan comes from `flows.screening.read_plan`, coverage from `screening.service.coverage`,
missed persons from `screening.missed.missed_persons` (audited) and tubes from
`screening.service.get_tube`, each scoped to the viewer's jurisdiction as the API's are.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from xietong.api.deps import get_protector
from xietong.core.clock import local_day
from xietong.core.errors import DomainError
from xietong.core.principal import Permission, Principal, Role
from xietong.flows import screening as screening_flow
from xietong.screening import missed
from xietong.screening import service as screening_service
from xietong.web.export import csv_response
from xietong.web.pages.listing import ExportableListPage, ListPage
from xietong.web.rendering import district_labels, render
from xietong.web.session import Viewer

router = APIRouter(include_in_schema=False)

SCREENING_ROLES = (Role.command, Role.district_coordinator, Role.field_worker)


def _day(viewer: Viewer, day: str | None) -> date:
    try:
        return date.fromisoformat(day) if day else local_day(viewer.now, viewer.settings.timezone)
    except ValueError:
        return local_day(viewer.now, viewer.settings.timezone)


def _district(principal: Principal, session: Session, district: str | None) -> str | None:
    """A district user always looks at its own district; the city may pick one."""
    if principal.district_id is not None:
        return district_labels(session)[principal.district_id].code
    return district or None


@router.get("/screening")
def screening_page(
    listing: ListPage,
    day: str | None = None,
    district: str | None = None,
    tube: str | None = None,
) -> Response:
    viewer, session = listing.viewer, listing.session

    def build(principal: Principal) -> Response:
        on = _day(viewer, day)
        code = _district(principal, session, district)
        plan = screening_flow.read_plan(
            session,
            principal=principal,
            day=on,
            district_code=code,
            limit=listing.limit,
            offset=listing.offset,
        )
        coverage = screening_service.coverage(
            session, principal=principal, day=on, district_code=code
        )
        found: Any = None
        tube_error = None
        if tube:
            try:
                found = screening_service.get_tube(session, principal=principal, code=tube.strip())
            except DomainError:
                tube_error = tube
        context = {
            "day": on,
            "district": code or "",
            "plan": plan,
            "page": listing.page(plan.buildings, plan.buildings_total),
            "coverage": coverage,
            "tube": tube or "",
            "found": found,
            "tube_error": tube_error,
            "may_list_persons": principal.can(Permission.read_persons),
        }
        query = listing.query({"day": on.isoformat(), "district": code})
        return render(viewer, session, "screening.html", context, query=query)

    return listing.guard(build, roles=SCREENING_ROLES)


@router.get("/screening/missed")
def missed_page(
    request: Request, listing: ExportableListPage, building: str = "", day: str | None = None
) -> Response:
    """The persons of one building that a round missed (audited), or the list as CSV."""
    viewer, session = listing.viewer, listing.session

    def build(principal: Principal) -> Response:
        on = _day(viewer, day)
        persons, total = missed.missed_persons(
            session,
            principal=principal,
            protector=get_protector(request),
            day=on,
            building_code=building.strip(),
            now=viewer.now,
            limit=listing.limit,
            offset=listing.offset,
        )
        if listing.exporting:
            return csv_response(
                session,
                principal=principal,
                name=f"missed-{building}-{on.isoformat()}",
                header=["person_id", "id_masked", "name", "phone", "building", "district"],
                rows=[
                    [
                        p.id,
                        p.id_masked,
                        p.name,
                        p.phone,
                        p.current_building_code,
                        p.current_district_code,
                    ]
                    for p in persons
                ],
                person_ids=[p.id for p in persons],
                detail={"day": on.isoformat(), "building": building},
            )
        context = {
            "day": on,
            "building": building.strip(),
            "page": listing.page(persons, total),
        }
        query = listing.query({"building": building, "day": on.isoformat()})
        return render(viewer, session, "screening_missed.html", context, query=query)

    return listing.guard(build, roles=SCREENING_ROLES)
