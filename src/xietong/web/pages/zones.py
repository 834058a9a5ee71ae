"""Risk areas: the list with lifting countdowns, a map of where they are (locked, awaiting approval,
awaiting a lifting decision), the proposals awaiting a decision, and the public list (no login,
no personal data).

Reads go through `zones.service.list_areas`/`to_reads`, the countdown through
`zones.countdown.lifting_outlook` and the public list through `zones.status.public_list`, as the
API does; decisions through `approve_area`, `reject_area`, `lift_area` and `reject_lifting`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import Response
from sqlalchemy.orm import Session

from xietong.api.deps import SessionDep
from xietong.core.clock import local_day
from xietong.core.errors import DomainError
from xietong.core.principal import Principal, Role
from xietong.web.data import maps
from xietong.web.pages.common import act
from xietong.web.pages.listing import ListPage
from xietong.web.rendering import district_labels
from xietong.web.session import ViewerDep
from xietong.zones import countdown
from xietong.zones import metrics as zone_metrics
from xietong.zones import service as zones_service
from xietong.zones import status as zones_status
from xietong.zones.schemas import RiskAreaRead
from xietong.zones.service import ALL_STATUSES, LOCKED_STATUSES, OPEN_STATUSES
from xietong.zones.vocabulary import AWAITING_STATUSES

router = APIRouter(include_in_schema=False)

STATUS_FILTERS = ("open", "all", *ALL_STATUSES)
DECIDERS = (Role.command, Role.district_coordinator)
PROPOSALS_SHOWN = 50


@dataclass(frozen=True)
class AreaRow:
    area: RiskAreaRead
    clean_days: int | None
    earliest_lifting_on: date | None
    days_left: int | None


def _statuses(choice: str) -> list[str] | None:
    if choice == "all":
        return None
    if choice == "open":
        return list(OPEN_STATUSES)
    return [choice]


def _district_id(session: Session, code: str | None) -> int | None:
    if not code:
        return None
    for label in district_labels(session).values():
        if label.code == code:
            return label.id
    return None


def area_rows(session: Session, areas: list[Any], *, today: date) -> list[AreaRow]:
    """The page's areas with, for the locked ones, where their lifting countdown stands."""
    reads = zones_service.to_reads(session, areas)
    locked = [a for a in areas if a.status in LOCKED_STATUSES and a.active_from is not None]
    outlooks = countdown.lifting_outlook(
        session,
        building_ids=[a.building_id for a in locked],
        countable_from=[a.countdown_from or a.active_from for a in locked],
        today=today,
    )
    by_id: dict[int, tuple[int, date]] = {}
    for area, outlook in zip(locked, outlooks, strict=True):
        lifting = today if area.status == "lifting_proposed" else outlook.earliest_lifting_on
        by_id[area.id] = (outlook.clean_days_so_far, lifting)
    rows = []
    for area, read in zip(areas, reads, strict=True):
        found = by_id.get(area.id)
        if found is None:
            rows.append(AreaRow(read, None, None, None))
        else:
            rows.append(AreaRow(read, found[0], found[1], (found[1] - today).days))
    return rows


def _open_total(
    counts: Mapping[tuple[int, str, str], int],
    *,
    statuses: Collection[str] | None,
    district_id: int | None,
) -> int | None:
    """How many areas of `statuses` (of the district, or all) `counts` holds; None when the
    statuses are not all open ones, which `counts` does not hold."""
    if statuses is None or not set(statuses) <= set(OPEN_STATUSES):
        return None
    return sum(
        n
        for (district, _, status), n in counts.items()
        if status in statuses and district_id in (None, district)
    )


@router.get("/zones")
def zones_page(
    listing: ListPage, district: str | None = None, status: str | None = None
) -> Response:
    viewer, session = listing.viewer, listing.session
    chosen = status if status in STATUS_FILTERS else "open"

    def build(principal: Principal) -> Response:
        today = local_day(viewer.now, viewer.settings.timezone)
        own = principal.district_id
        chosen_district = _district_id(session, district)
        statuses = _statuses(chosen)
        # The open areas counted by district and status draw the map and total the lists of
        # open areas: the status is not indexed (see the model), and each count passed over
        # every area again.
        counts = zone_metrics.open_by_district(session)
        areas, total = zones_service.list_areas(
            session,
            district_id=chosen_district,
            statuses=statuses,
            limit=listing.limit,
            offset=listing.offset,
            known_total=_open_total(counts, statuses=statuses, district_id=chosen_district),
        )
        proposals, proposals_total = zones_service.list_areas(
            session,
            district_id=own,
            statuses=AWAITING_STATUSES,
            limit=PROPOSALS_SHOWN,
            known_total=_open_total(counts, statuses=AWAITING_STATUSES, district_id=own),
        )
        labels = district_labels(session)
        drawn, locked_total = maps.zones_map(
            counts,
            labels=labels,
            lang=viewer.lang,
            highlight=labels[own].code if own is not None else None,
        )
        context = {
            "proposals": area_rows(session, proposals, today=today),
            "proposals_total": proposals_total,
            "may_decide": principal.role in DECIDERS,
            "status_filters": STATUS_FILTERS,
            "filter": {"district": district or "", "status": chosen},
            "locked_total": locked_total,
            "wall_map": drawn,
            "today": today,
        }
        rows = area_rows(session, areas, today=today)
        filters = {"district": district, "status": chosen}
        return listing.render(
            "zones.html", listing.page(rows, total), filters=filters, context=context
        )

    return listing.guard(build)


@router.get("/public/zones")
def public_zones(listing: ListPage, district: str | None = None) -> Response:
    """The public list: no login, and nothing on it names or identifies a person."""
    session = listing.session
    try:
        public = zones_status.public_list(
            session,
            today=local_day(listing.viewer.now, listing.viewer.settings.timezone),
            district_id=_district_id(session, district),
            limit=listing.limit,
            offset=listing.offset,
        )
    except DomainError:
        public = None
    context = {"listing": public, "filter": {"district": district or ""}}
    response = listing.render(
        "public_zones.html",
        listing.page(public.items if public else [], public.total if public else 0),
        filters={"district": district},
        context=context,
    )
    if listing.viewer.principal is None:
        # The same for every visitor: a short shared cache spares the database on busy days.
        response.headers["Cache-Control"] = "public, max-age=60"
    return response


# --- decisions -----------------------------------------------------------------------------

Text = Annotated[str, Form()]


@router.post("/zones/{area_id}/{decision}")
def decide(
    area_id: int,
    decision: str,
    viewer: ViewerDep,
    session: SessionDep,
    csrf: Text = "",
    reason: Text = "",
    next: Text = "",
    form_key: Text = "",
) -> Response:
    tz = viewer.settings.timezone

    def run(principal: Principal) -> None:
        common: dict[str, Any] = {
            "principal": principal,
            "area_id": area_id,
            "now": viewer.now,
            "tz": tz,
        }
        if decision == "approve":
            zones_service.approve_area(session, reason=reason or None, **common)
        elif decision == "reject":
            zones_service.reject_area(session, reason=reason, **common)
        elif decision == "lift":
            zones_service.lift_area(session, reason=reason or None, **common)
        elif decision == "keep":
            zones_service.reject_lifting(session, reason=reason, **common)
        else:
            raise DomainError(f"unknown decision {decision!r}", code="unknown_decision")

    return act(viewer, session, csrf=csrf, action=run, back_to=next or "/zones", form_key=form_key)
