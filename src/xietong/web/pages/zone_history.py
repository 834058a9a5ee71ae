"""One risk area on screen: where its countdown stands, every step of its life (proposed,
approved, lifting proposed, lifted, with who, when and why), and its decisions; and the list
of areas as CSV.

Reads go through `zones.service.get_area`, `area_events` and `event_reads` as the API's
`GET /api/zones/{id}` does; decisions post to the zones page's routes.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from xietong.api.deps import SessionDep
from xietong.core.clock import local_day
from xietong.core.principal import Principal
from xietong.web.export import csv_response
from xietong.web.pages.common import guard
from xietong.web.pages.zones import DECIDERS, _district_id, _statuses, area_rows
from xietong.web.rendering import render
from xietong.web.session import ViewerDep
from xietong.zones import service as zones_service

router = APIRouter(include_in_schema=False)
EXPORT_LIMIT = 10_000


@router.get("/zones.csv")
def zones_csv(
    viewer: ViewerDep, session: SessionDep, district: str | None = None, status: str = "open"
) -> Response:
    def build(principal: Principal) -> Response:
        areas, _ = zones_service.list_areas(
            session,
            district_id=_district_id(session, district),
            statuses=_statuses(status),
            limit=EXPORT_LIMIT,
        )
        today = local_day(viewer.now, viewer.settings.timezone)
        rows = area_rows(session, areas, today=today)
        return csv_response(
            session,
            principal=principal,
            name=f"risk-areas-{today.isoformat()}",
            header=[
                "id",
                "building",
                "address",
                "district",
                "status",
                "origin",
                "reason",
                "active_from",
                "clean_days",
                "earliest_lifting_on",
                "lifted_on",
            ],
            rows=[
                [
                    r.area.id,
                    r.area.building_code,
                    r.area.address_label,
                    r.area.district_code,
                    r.area.status,
                    r.area.origin,
                    r.area.reason,
                    r.area.active_from,
                    r.clean_days,
                    r.earliest_lifting_on,
                    r.area.lifted_on,
                ]
                for r in rows
            ],
            detail={"district": district, "status": status},
        )

    return guard(viewer, session, build)


@router.get("/zones/{area_id}")
def area_page(area_id: int, viewer: ViewerDep, session: SessionDep) -> Response:
    def build(principal: Principal) -> Response:
        area = zones_service.get_area(session, area_id=area_id)
        today = local_day(viewer.now, viewer.settings.timezone)
        row = area_rows(session, [area], today=today)[0]
        events = zones_service.event_reads(zones_service.area_events(session, area_id=area_id))
        own = principal.district_id
        may_decide = principal.role in DECIDERS and own in (None, area.district_id)
        context = {"row": row, "events": events, "may_decide": may_decide}
        return render(viewer, session, "zone.html", context)

    return guard(viewer, session, build)
