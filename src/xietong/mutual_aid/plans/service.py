"""The mutual-aid plan: proposed from capacity and demand, read as transfers, shortages and a
flow table, approved by the command centre (its transfers become transfer orders, see `orders`)
or rejected. Each step tells the districts concerned through the outbox.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

import numpy as np
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from xietong.areas import service as areas_service
from xietong.auth.service import record_audit
from xietong.core.clock import local_day
from xietong.core.errors import Conflict, NotFound, PermissionDenied
from xietong.core.principal import Principal, Role
from xietong.mutual_aid import sources
from xietong.mutual_aid.models import AidPlan, PlanCell, PlanTransfer, TransferOrder
from xietong.mutual_aid.orders.service import announce_order, order_read
from xietong.mutual_aid.outlook import service as outlook
from xietong.mutual_aid.outlook.demand import PLANNED_RESOURCES
from xietong.mutual_aid.plans.placement import (
    FloatArray,
    StayPlan,
    StayProblem,
    keep_at_home,
    place_arrivals,
)
from xietong.mutual_aid.schemas import (
    FlowRow,
    FlowTable,
    PlanRead,
    PlanRequest,
    PlanSummary,
    ShortageRead,
    TransferOrderRead,
    TransferRead,
)
from xietong.resources import service
from xietong.storage.bulk import bulk_insert

TRANSFER_COLUMNS = [
    "plan_id",
    "resource",
    "from_district_id",
    "to_district_id",
    "day",
    "amount",
    "distance_km",
]
CELL_COLUMNS = [
    "plan_id",
    "resource",
    "district_id",
    "day",
    "capacity",
    "in_use",
    "arrivals",
    "kept",
    "sent",
    "received",
    "shortage",
    "occupied",
]


# --- the plan ------------------------------------------------------------------------------------


def propose_plan(
    session: Session,
    *,
    principal: Principal,
    request: PlanRequest,
    tz: str,
    now: datetime,
) -> PlanRead:
    """Plan the next days' transfers from capacity and demand; store it as proposed if asked."""
    if request.store:
        service.require_command(principal, "propose a mutual-aid plan")
    elif principal.role not in (Role.command, Role.district_coordinator):
        raise PermissionDenied(f"role {principal.role} may not compute a mutual-aid plan")
    first_day = request.first_day or local_day(now, tz)
    view = outlook.outlook(session, first_day=first_day, days=request.days, inputs=request, tz=tz)
    max_travel = _max_travel_km(request)
    problem = _stay_problem(request, view, max_travel_km=max_travel)
    placed = place_arrivals(problem)
    transfers = _transfer_reads(view, placed)
    plan = AidPlan(
        status="proposed",
        first_day=view.days[0],
        last_day=view.days[-1],
        policy_version=view.policy_version,
        demand_source=view.demand.source,
        demand_quantile=view.demand.quantile,
        parameters=_parameters(request, view, problem, max_travel_km=max_travel),
        total_arrivals=int(placed.total_arrivals),
        total_unmet=int(placed.total_unmet),
        total_transferred=int(placed.total_transferred),
        transferred_unit_km=float(placed.transferred_unit_km),
        created_by=principal.username,
        created_at=now,
        updated_at=now,
    )
    if request.store:
        _store(session, plan, view=view, placed=placed, transfers=transfers, now=now)
    return _plan_read(plan, transfers=transfers, shortages=_shortage_reads(view, placed))


def _max_travel_km(request: PlanRequest) -> FloatArray:
    """How far each planned resource may travel: no limit unless the request sets one."""
    by_resource = {str(r): km for r, km in (request.max_travel_km_by_resource or {}).items()}
    default_reach = request.max_travel_km if request.max_travel_km is not None else math.inf
    return np.array([by_resource.get(r, default_reach) for r in PLANNED_RESOURCES])


def _stay_problem(
    request: PlanRequest, view: outlook.Outlook, *, max_travel_km: FloatArray
) -> StayProblem:
    """Where the arrivals of each planned resource may stay: free capacity, stays, distances."""
    resources = PLANNED_RESOURCES
    return StayProblem(
        district_codes=view.district_codes,
        resources=resources,
        days=view.days,
        arrivals=np.stack([view.demand.arrivals[r] for r in resources]),
        free_capacity=np.stack([view.capacity[r] - view.in_use[r] for r in resources]),
        stay_days=tuple(view.rules.stay_days(r) for r in resources),
        distance_km=view.distance_km,
        max_travel_km=max_travel_km,
        transfer_penalty_km=request.transfer_penalty_km,
    )


def _parameters(
    request: PlanRequest, view: outlook.Outlook, problem: StayProblem, *, max_travel_km: FloatArray
) -> dict[str, object]:
    """What the plan was computed with, kept with it, and what keeping every arrival at home
    would have left unmet (the plan's baseline)."""
    resources = problem.resources
    return {
        "days": request.days,
        "max_travel_km": {
            r: (None if math.isinf(v) else v)
            for r, v in zip(resources, max_travel_km.tolist(), strict=True)
        },
        "transfer_penalty_km": request.transfer_penalty_km,
        "stay_days": dict(zip(resources, problem.stay_days, strict=True)),
        "contacts_per_case": request.contacts_per_case,
        "case_stay_days": request.case_stay_days,
        "tubes_source": view.tubes_source,
        "explicit_inputs": sorted(
            name
            for name in (
                "recent_new_cases",
                "forecast_new_cases",
                "new_contacts",
                "planned_tubes",
                "in_use",
            )
            if getattr(request, name) is not None
        ),
        "note": request.note,
        "unmet_if_kept_at_home": int(keep_at_home(problem).sum()),
    }


def _transfer_reads(view: outlook.Outlook, placed: StayPlan) -> list[TransferRead]:
    index = {code: i for i, code in enumerate(view.district_codes)}
    return [
        TransferRead(
            resource=t.resource,
            from_district_code=t.from_code,
            to_district_code=t.to_code,
            day=t.day,
            amount=int(t.amount),
            distance_km=float(view.distance_km[index[t.from_code], index[t.to_code]]),
        )
        for t in placed.transfers
    ]


def _shortage_reads(view: outlook.Outlook, placed: StayPlan) -> list[ShortageRead]:
    return [
        ShortageRead(
            resource=PLANNED_RESOURCES[r],
            district_code=view.district_codes[d],
            day=view.days[t],
            amount=int(placed.shortage[r, d, t]),
        )
        for r, d, t in zip(*np.nonzero(placed.shortage), strict=True)
    ]


def _store(
    session: Session,
    plan: AidPlan,
    *,
    view: outlook.Outlook,
    placed: StayPlan,
    transfers: Sequence[TransferRead],
    now: datetime,
) -> None:
    """Write the proposed plan with its transfers and cells, and tell the command centre."""
    ids = view.district_ids
    index = {code: i for i, code in enumerate(view.district_codes)}
    session.add(plan)
    session.flush()
    bulk_insert(
        session,
        PlanTransfer.__table__,  # type: ignore[arg-type]
        TRANSFER_COLUMNS,
        [
            (
                plan.id,
                t.resource,
                ids[index[t.from_district_code]],
                ids[index[t.to_district_code]],
                t.day,
                t.amount,
                t.distance_km,
            )
            for t in transfers
        ],
    )
    bulk_insert(
        session,
        PlanCell.__table__,  # type: ignore[arg-type]
        CELL_COLUMNS,
        _cells(plan.id, view, placed),
    )
    session.flush()
    sources.deliver(
        session,
        topic="resources.plan.proposed",
        payload=_plan_payload(plan),
        audience=[None],
        key=f"resources.plan.{plan.id}.proposed",
        now=now,
    )


def _cells(plan_id: int, view: outlook.Outlook, placed: StayPlan) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for r, resource in enumerate(PLANNED_RESOURCES):
        capacity, in_use = view.capacity[resource], view.in_use[resource]
        arrivals = view.demand.arrivals[resource]
        for d, district_id in enumerate(view.district_ids):
            for t, day in enumerate(view.days):
                values = (
                    int(capacity[d, t]),
                    int(in_use[d, t]),
                    int(arrivals[d, t]),
                    int(placed.kept_at_home[r, d, t]),
                    int(placed.sent[r, d, t]),
                    int(placed.received[r, d, t]),
                    int(placed.shortage[r, d, t]),
                    int(in_use[d, t] + placed.placed_occupancy[r, d, t]),
                )
                if any(values):
                    rows.append((plan_id, resource, district_id, day, *values))
    return rows


def _plan_payload(plan: AidPlan) -> dict[str, object]:
    return {
        "plan_id": plan.id,
        "status": plan.status,
        "first_day": plan.first_day.isoformat(),
        "last_day": plan.last_day.isoformat(),
        "total_arrivals": plan.total_arrivals,
        "total_unmet": plan.total_unmet,
        "total_transferred": plan.total_transferred,
    }


def _summary(plan: AidPlan) -> PlanSummary:
    return PlanSummary(
        id=plan.id,
        status=plan.status,
        first_day=plan.first_day,
        last_day=plan.last_day,
        policy_version=plan.policy_version,
        demand_source=plan.demand_source,
        demand_quantile=plan.demand_quantile,
        total_arrivals=plan.total_arrivals,
        total_unmet=plan.total_unmet,
        total_transferred=plan.total_transferred,
        transferred_unit_km=plan.transferred_unit_km,
        created_by=plan.created_by,
        created_at=plan.created_at,
        decided_by=plan.decided_by,
        decided_at=plan.decided_at,
        decision_note=plan.decision_note,
    )


def _plan_read(
    plan: AidPlan, *, transfers: list[TransferRead], shortages: list[ShortageRead]
) -> PlanRead:
    at_home = plan.parameters.get("unmet_if_kept_at_home")
    return PlanRead(
        **_summary(plan).model_dump(),
        parameters=dict(plan.parameters),
        transfers=transfers,
        shortages=shortages,
        unmet_if_kept_at_home=at_home if isinstance(at_home, int) else None,
    )


def _plan(session: Session, plan_id: int, *, lock: bool = False) -> AidPlan:
    query = select(AidPlan).where(AidPlan.id == plan_id)
    if lock:
        query = query.with_for_update()
    plan = session.scalar(query)
    if plan is None:
        raise NotFound(f"no mutual-aid plan {plan_id}", code="plan_not_found")
    return plan


def list_plans(
    session: Session, *, status: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[PlanSummary], int]:
    """Plans, newest first (they hold no personal data: every district may read them)."""
    query = select(AidPlan)
    if status is not None:
        query = query.where(AidPlan.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    plans = session.scalars(query.order_by(AidPlan.id.desc()).limit(limit).offset(offset))
    return [_summary(p) for p in plans], total


def get_plan(session: Session, *, principal: Principal, plan_id: int) -> PlanRead:
    """A plan with its transfers and shortages; a district sees those concerning it."""
    plan = _plan(session, plan_id)
    table = flow_table(session, principal=principal, plan_id=plan_id)
    shortages = [
        ShortageRead(
            resource=row.resource, district_code=row.district_code, day=row.day, amount=row.shortage
        )
        for row in table.rows
        if row.shortage
    ]
    return _plan_read(plan, transfers=table.transfers, shortages=shortages)


def flow_table(session: Session, *, principal: Principal, plan_id: int) -> FlowTable:
    """The plan per resource, district and day, and its transfers (a district: its own rows)."""
    plan = _plan(session, plan_id)
    codes = areas_service.district_code_by_id(session)
    mine = principal.district_id
    cells = select(PlanCell).where(PlanCell.plan_id == plan_id)
    moves = select(PlanTransfer).where(PlanTransfer.plan_id == plan_id)
    if mine is not None:
        cells = cells.where(PlanCell.district_id == mine)
        moves = moves.where(
            or_(PlanTransfer.from_district_id == mine, PlanTransfer.to_district_id == mine)
        )
    rows = [
        FlowRow(
            resource=c.resource,
            district_code=codes[c.district_id],
            day=c.day,
            capacity=c.capacity,
            in_use=c.in_use,
            arrivals=c.arrivals,
            kept=c.kept,
            sent=c.sent,
            received=c.received,
            shortage=c.shortage,
            occupied=c.occupied,
        )
        for c in session.scalars(cells.order_by(PlanCell.resource, PlanCell.day, PlanCell.id))
    ]
    transfers = [
        TransferRead(
            resource=m.resource,
            from_district_code=codes[m.from_district_id],
            to_district_code=codes[m.to_district_id],
            day=m.day,
            amount=m.amount,
            distance_km=m.distance_km,
        )
        for m in session.scalars(
            moves.order_by(PlanTransfer.resource, PlanTransfer.day, PlanTransfer.id)
        )
    ]
    return FlowTable(plan_id=plan.id, status=plan.status, rows=rows, transfers=transfers)


def approve_plan(
    session: Session,
    *,
    principal: Principal,
    plan_id: int,
    note: str | None = None,
    now: datetime,
) -> tuple[PlanSummary, list[TransferOrderRead]]:
    """Approve a proposed plan: each transfer becomes an order both districts must acknowledge."""
    service.require_command(principal, "approve a mutual-aid plan")
    plan = _plan(session, plan_id, lock=True)
    _decide(plan, "approved", principal=principal, note=note, now=now)
    # Another proposal for the same days is moot once one plan is in force.
    for other in session.scalars(
        select(AidPlan).where(
            AidPlan.status == "proposed",
            AidPlan.id != plan.id,
            AidPlan.first_day <= plan.last_day,
            AidPlan.last_day >= plan.first_day,
        )
    ):
        other.status = "superseded"
        other.updated_at = now
    orders = [
        TransferOrder(
            plan_id=plan.id,
            resource=t.resource,
            from_district_id=t.from_district_id,
            to_district_id=t.to_district_id,
            day=t.day,
            amount=t.amount,
            distance_km=t.distance_km,
            status="issued",
            issued_by=principal.username,
            created_at=now,
            updated_at=now,
        )
        for t in session.scalars(
            select(PlanTransfer).where(PlanTransfer.plan_id == plan.id).order_by(PlanTransfer.id)
        )
    ]
    session.add_all(orders)
    session.flush()
    codes = areas_service.district_code_by_id(session)
    for order in orders:
        announce_order(session, order, codes, event="issued")
    # The command centre hears of every order; a district only of the orders it gives or receives.
    sources.deliver(
        session,
        topic="resources.plan.approved",
        payload={**_plan_payload(plan), "orders": [o.id for o in orders]},
        audience=[None],
        key=f"resources.plan.{plan.id}.approved",
        now=now,
    )
    districts = sorted({o.from_district_id for o in orders} | {o.to_district_id for o in orders})
    for district in districts:
        own = [o.id for o in orders if district in (o.from_district_id, o.to_district_id)]
        sources.deliver(
            session,
            topic="resources.plan.approved",
            payload={**_plan_payload(plan), "orders": own},
            audience=[district],
            key=f"resources.plan.{plan.id}.approved.district.{district}",
            now=now,
        )
    record_audit(
        session,
        principal=principal,
        action="approve",
        entity="resources_plan",
        entity_ids=[plan.id],
        reason=note,
        detail={"orders": len(orders)},
    )
    return _summary(plan), [order_read(o, codes) for o in orders]


def reject_plan(
    session: Session,
    *,
    principal: Principal,
    plan_id: int,
    note: str | None = None,
    now: datetime,
) -> PlanSummary:
    """Reject a proposed plan; nothing is ordered."""
    service.require_command(principal, "reject a mutual-aid plan")
    plan = _plan(session, plan_id, lock=True)
    _decide(plan, "rejected", principal=principal, note=note, now=now)
    record_audit(
        session,
        principal=principal,
        action="reject",
        entity="resources_plan",
        entity_ids=[plan.id],
        reason=note,
    )
    return _summary(plan)


def _decide(
    plan: AidPlan, status: str, *, principal: Principal, note: str | None, now: datetime
) -> None:
    if plan.status != "proposed":
        raise Conflict(
            f"plan {plan.id} is {plan.status}: only a proposed plan can be {status}",
            code="plan_not_proposed",
        )
    plan.status = status
    plan.decided_by = principal.username
    plan.decided_at = now
    plan.decision_note = note
    plan.updated_at = now
