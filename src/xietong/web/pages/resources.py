"""Resources: capacity against demand per district and day, a map of the day's shortfalls and
of the aid the plan moves between districts, and the mutual-aid plan to approve.

The table is `mutual_aid.outlook.demand_read(outlook(...))`, the same as
`GET /api/resources/outlook`; plans come from `mutual_aid.plans` (list, read, propose, approve,
reject), the command centre's decisions.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import Response
from sqlalchemy.orm import Session

from xietong.analytics import page_results
from xietong.analytics.expected import HISTORY_DAYS
from xietong.api.deps import SessionDep
from xietong.core.clock import local_day
from xietong.core.principal import Principal, Role
from xietong.mutual_aid.outlook import service as resources_outlook
from xietong.mutual_aid.plans import service as flows
from xietong.mutual_aid.schemas import DemandInputs, DemandRead, PlanRequest
from xietong.web import memo
from xietong.web.data import maps
from xietong.web.pages.common import act
from xietong.web.pages.listing import ListPage
from xietong.web.rendering import district_labels, render
from xietong.web.session import ViewerDep

router = APIRouter(include_in_schema=False)

RESOURCES = (
    "centralised_quarantine_bed",
    "makeshift_hospital_bed",
    "home_isolation_place",
    "lab_tube",
)
OUTLOOK_DAYS = 7
PLAN_ROWS = 100


def _day(value: str | None, default: date) -> date:
    try:
        return date.fromisoformat(value) if value else default
    except ValueError:
        return default


def outlook_read(session: Session, *, first_day: date, tz: str) -> DemandRead:
    """The outlook from `first_day`, its demand forecast from the history up to the day before:
    kept, as the forecast page keeps its forecast, under the daily series of that history and
    the census populations, so that a view of an unchanged series reads no reporting delays."""
    last_day = first_day - timedelta(days=1)
    series = memo.series_fingerprint(
        session, first_day=last_day - timedelta(days=HISTORY_DAYS - 1), last_day=last_day
    )
    populations = page_results.district_populations(session)
    view = resources_outlook.outlook(
        session,
        first_day=first_day,
        days=OUTLOOK_DAYS,
        inputs=DemandInputs(),
        tz=tz,
        history_key=(series, populations),
    )
    return resources_outlook.demand_read(view)


@router.get("/resources")
def resources_page(
    listing: ListPage,
    resource: str | None = None,
    day: str | None = None,
    district: str | None = None,
    shortages: str | None = None,
) -> Response:
    viewer, session = listing.viewer, listing.session

    def build(principal: Principal) -> Response:
        tz = viewer.settings.timezone
        today = local_day(viewer.now, tz)
        chosen = resource if resource in RESOURCES else RESOURCES[0]
        shown_day = _day(day, today)
        first_day = min(shown_day, today)
        read = outlook_read(session, first_day=first_day, tz=tz)
        cells = read.cells
        labels = district_labels(session)
        own = labels[principal.district_id].code if principal.district_id is not None else None
        wanted = own or (district or None)
        mine = [
            c
            for c in cells
            if c.resource == chosen and (wanted is None or c.district_code == wanted)
        ]
        if shortages == "1":
            mine = [c for c in mine if c.gap > 0]
        mine.sort(key=lambda c: (-c.gap, c.day, c.district_code))
        plans, plans_total = flows.list_plans(session, limit=10)
        proposed = next((p for p in plans if p.status == "proposed"), None)
        plan = (
            flows.get_plan(session, principal=principal, plan_id=proposed.id)
            if proposed and proposed.id
            else None
        )
        # The map shows the plan awaiting a decision, or else the latest one in force.
        mapped = plan
        approved = next((p for p in plans if p.status == "approved"), None)
        if mapped is None and approved is not None and approved.id:
            mapped = flows.get_plan(session, principal=principal, plan_id=approved.id)
        drawn = maps.mutual_aid_map(
            labels=labels,
            lang=viewer.lang,
            cells=cells,
            transfers=mapped.transfers if mapped else [],
            resource=chosen,
            day=shown_day,
            highlight=own,
        )
        context: dict[str, Any] = {
            "wall_map": drawn,
            "map_plan": mapped,
            "resources": RESOURCES,
            "chosen": chosen,
            "shown_day": shown_day,
            "days": [first_day + timedelta(days=k) for k in range(OUTLOOK_DAYS)],
            "demand_source": read.demand_source,
            # The planning level the policy names, in whole percent ("75th percentile").
            "demand_percentile": (
                None if read.demand_quantile is None else round(100 * read.demand_quantile)
            ),
            "page": listing.page_of(mine),
            "plans": plans,
            "plans_total": plans_total,
            "plan": plan,
            "plan_transfers": plan.transfers[:PLAN_ROWS] if plan else [],
            "is_command": principal.role is Role.command,
            "filter": {"district": wanted or "", "shortages": shortages == "1"},
        }
        filters = {
            "resource": chosen,
            "day": shown_day.isoformat(),
            "district": district,
            "shortages": shortages,
        }
        return render(viewer, session, "resources.html", context, query=listing.query(filters))

    return listing.guard(build)


Text = Annotated[str, Form()]


@router.post("/resources/plans")
def propose_plan(viewer: ViewerDep, session: SessionDep, csrf: Text = "") -> Response:
    def run(principal: Principal) -> None:
        flows.propose_plan(
            session,
            principal=principal,
            request=PlanRequest(note="dashboard"),
            tz=viewer.settings.timezone,
            now=viewer.now,
        )

    return act(viewer, session, csrf=csrf, action=run, back_to="/resources")


@router.post("/resources/plans/{plan_id}/{decision}")
def decide_plan(
    plan_id: int,
    decision: str,
    viewer: ViewerDep,
    session: SessionDep,
    csrf: Text = "",
    note: Text = "",
) -> Response:
    def run(principal: Principal) -> None:
        if decision == "approve":
            flows.approve_plan(
                session, principal=principal, plan_id=plan_id, note=note or None, now=viewer.now
            )
        else:
            flows.reject_plan(
                session, principal=principal, plan_id=plan_id, note=note or None, now=viewer.now
            )

    return act(viewer, session, csrf=csrf, action=run, back_to="/resources")
