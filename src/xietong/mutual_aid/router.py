"""Routes of mutual aid: capacity against demand, plans, transfer orders, help requests and
offers, under `/api/resources` beside the capacity routes. Thin: parse, call the service, shape
the answer."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from xietong.api.deps import NowDep, PageDep, PrincipalDep, SessionDep, SettingsDep
from xietong.core.clock import local_day
from xietong.core.pagination import Page
from xietong.mutual_aid.offers import service as offers
from xietong.mutual_aid.orders import service as transfer_orders
from xietong.mutual_aid.outlook import service as outlook
from xietong.mutual_aid.plans import service as flows
from xietong.mutual_aid.schemas import (
    Decision,
    DemandRead,
    DemandRequest,
    FlowTable,
    HelpOfferIn,
    HelpOfferRead,
    HelpRequestIn,
    HelpRequestRead,
    MatchIn,
    OrderStatus,
    PlanRead,
    PlanRequest,
    PlanSummary,
    TransferOrderRead,
)
from xietong.resources import service

router = APIRouter(prefix="/api/resources", tags=["resources"])


# --- capacity against demand ---------------------------------------------------------------------


@router.get(
    "/outlook",
    summary="Capacity against demand per district, resource and day (the dashboard's table)",
)
def get_outlook(
    now: NowDep,
    session: SessionDep,
    _principal: PrincipalDep,
    settings: SettingsDep,
    first_day: date | None = None,
    days: Annotated[int, Query(ge=1, le=28)] = 7,
) -> DemandRead:
    request = DemandRequest(first_day=first_day, days=days)
    return _demand(now, session, settings.timezone, request)


@router.post(
    "/demand",
    summary="Capacity against demand, with inputs stated explicitly (forecast, counts, tubes)",
)
def post_demand(
    now: NowDep,
    request: DemandRequest,
    session: SessionDep,
    _principal: PrincipalDep,
    settings: SettingsDep,
) -> DemandRead:
    return _demand(now, session, settings.timezone, request)


def _demand(now: datetime, session: SessionDep, tz: str, request: DemandRequest) -> DemandRead:
    view = outlook.outlook(
        session,
        first_day=request.first_day or local_day(now, tz),
        days=request.days,
        inputs=request,
        tz=tz,
    )
    return outlook.demand_read(view)


# --- plans ---------------------------------------------------------------------------------------


@router.post(
    "/plan",
    summary="Propose a mutual-aid plan: transfers (from, to, resource, amount, day) and shortages",
)
def propose_plan(
    now: NowDep,
    request: PlanRequest,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
) -> PlanRead:
    return flows.propose_plan(
        session, principal=principal, request=request, tz=settings.timezone, now=now
    )


@router.get("/plans", summary="Mutual-aid plans, newest first")
def list_plans(
    paging: PageDep,
    session: SessionDep,
    _principal: PrincipalDep,
    plan_status: Annotated[str | None, Query(alias="status")] = None,
) -> Page[PlanSummary]:
    items, total = flows.list_plans(
        session, status=plan_status, limit=paging.limit, offset=paging.offset
    )
    return Page.of(items, total=total, params=paging)


@router.get("/plans/{plan_id}", summary="A plan's transfers and shortages (a district: its own)")
def get_plan(plan_id: int, session: SessionDep, principal: PrincipalDep) -> PlanRead:
    return flows.get_plan(session, principal=principal, plan_id=plan_id)


@router.get("/plans/{plan_id}/flows", summary="A plan as a flow table for the dashboard")
def get_flows(plan_id: int, session: SessionDep, principal: PrincipalDep) -> FlowTable:
    return flows.flow_table(session, principal=principal, plan_id=plan_id)


@router.post(
    "/plans/{plan_id}/approve",
    summary="Approve a proposed plan (command centre): its transfers become orders",
)
def approve_plan(
    now: NowDep,
    plan_id: int,
    session: SessionDep,
    principal: PrincipalDep,
    decision: Decision | None = None,
) -> list[TransferOrderRead]:
    _, orders = flows.approve_plan(
        session,
        principal=principal,
        plan_id=plan_id,
        note=decision.note if decision else None,
        now=now,
    )
    return orders


@router.post("/plans/{plan_id}/reject", summary="Reject a proposed plan (command centre)")
def reject_plan(
    now: NowDep,
    plan_id: int,
    session: SessionDep,
    principal: PrincipalDep,
    decision: Decision | None = None,
) -> PlanSummary:
    return flows.reject_plan(
        session,
        principal=principal,
        plan_id=plan_id,
        note=decision.note if decision else None,
        now=now,
    )


# --- transfer orders -----------------------------------------------------------------------------


@router.get("/orders", summary="Transfer orders (a district: those it sends or receives)")
def list_orders(
    paging: PageDep,
    session: SessionDep,
    principal: PrincipalDep,
    order_status: Annotated[OrderStatus | None, Query(alias="status")] = None,
    plan_id: int | None = None,
    day: date | None = None,
    district: str | None = None,
) -> Page[TransferOrderRead]:
    items, total = transfer_orders.list_orders(
        session,
        principal=principal,
        status=order_status,
        plan_id=plan_id,
        day=day,
        district_id=service.district_id_of(session, district),
        limit=paging.limit,
        offset=paging.offset,
    )
    return Page.of(items, total=total, params=paging)


@router.get("/orders/{order_id}", summary="One transfer order (404 if it does not concern you)")
def get_order(order_id: int, session: SessionDep, principal: PrincipalDep) -> TransferOrderRead:
    return transfer_orders.get_order(session, principal=principal, order_id=order_id)


@router.post(
    "/orders/{order_id}/acknowledge", summary="Acknowledge an order (sending or receiving district)"
)
def acknowledge_order(
    now: NowDep, order_id: int, session: SessionDep, principal: PrincipalDep
) -> TransferOrderRead:
    return transfer_orders.acknowledge_order(
        session, principal=principal, order_id=order_id, now=now
    )


@router.post("/orders/{order_id}/cancel", summary="Cancel an order (command centre)")
def cancel_order(
    now: NowDep,
    order_id: int,
    session: SessionDep,
    principal: PrincipalDep,
    decision: Decision | None = None,
) -> TransferOrderRead:
    return transfer_orders.cancel_order(
        session,
        principal=principal,
        order_id=order_id,
        note=decision.note if decision else None,
        now=now,
    )


# --- help requests and offers --------------------------------------------------------------------


def _status_in_district(
    session: SessionDep,
    help_status: Annotated[str | None, Query(alias="status")] = None,
    district: str | None = None,
) -> offers.StatusInDistrict:
    return offers.StatusInDistrict(
        status=help_status, district_id=service.district_id_of(session, district)
    )


StatusInDistrictDep = Annotated[offers.StatusInDistrict, Depends(_status_in_district)]


@router.post(
    "/requests", status_code=status.HTTP_201_CREATED, summary="Ask other districts for help"
)
def open_request(
    now: NowDep, request_in: HelpRequestIn, session: SessionDep, principal: PrincipalDep
) -> HelpRequestRead:
    return offers.open_request(session, principal=principal, request_in=request_in, now=now)


@router.get("/requests", summary="Help requests, newest first")
def list_requests(
    paging: PageDep,
    session: SessionDep,
    _principal: PrincipalDep,
    where: StatusInDistrictDep,
) -> Page[HelpRequestRead]:
    items, total = offers.list_requests(
        session, where=where, limit=paging.limit, offset=paging.offset
    )
    return Page.of(items, total=total, params=paging)


@router.post("/requests/{request_id}/withdraw", summary="Withdraw an open help request")
def withdraw_request(
    now: NowDep, request_id: int, session: SessionDep, principal: PrincipalDep
) -> HelpRequestRead:
    return offers.withdraw_request(session, principal=principal, request_id=request_id, now=now)


@router.post(
    "/requests/{request_id}/match",
    status_code=status.HTTP_201_CREATED,
    summary="Answer a request with an offer (command centre): issues a transfer order",
)
def match(
    now: NowDep, request_id: int, match_in: MatchIn, session: SessionDep, principal: PrincipalDep
) -> TransferOrderRead:
    return offers.match(
        session, principal=principal, request_id=request_id, match_in=match_in, now=now
    )


@router.post("/offers", status_code=status.HTTP_201_CREATED, summary="Offer spare capacity")
def open_offer(
    now: NowDep, offer_in: HelpOfferIn, session: SessionDep, principal: PrincipalDep
) -> HelpOfferRead:
    return offers.open_offer(session, principal=principal, offer_in=offer_in, now=now)


@router.get("/offers", summary="Help offers, newest first")
def list_offers(
    paging: PageDep,
    session: SessionDep,
    _principal: PrincipalDep,
    where: StatusInDistrictDep,
) -> Page[HelpOfferRead]:
    items, total = offers.list_offers(
        session, where=where, limit=paging.limit, offset=paging.offset
    )
    return Page.of(items, total=total, params=paging)


@router.post("/offers/{offer_id}/withdraw", summary="Withdraw an open help offer")
def withdraw_offer(
    now: NowDep, offer_id: int, session: SessionDep, principal: PrincipalDep
) -> HelpOfferRead:
    return offers.withdraw_offer(session, principal=principal, offer_id=offer_id, now=now)
