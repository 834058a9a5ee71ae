"""Routes of risk areas: the district's proposals and decisions, the risk status of buildings and
persons, the daily evaluation and the what-if; and the public list, which needs no token."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from xietong.api.deps import (
    Acting,
    ActingDep,
    LongPageDep,
    NowDep,
    PageDep,
    PrincipalDep,
    SessionDep,
    SettingsDep,
    TodayDep,
)
from xietong.areas import service as areas_service
from xietong.core.errors import DomainError, PermissionDenied
from xietong.core.pagination import Page
from xietong.core.principal import Principal, Role
from xietong.policy import service as policy_service
from xietong.zones import countdown, service, tasks, whatif
from xietong.zones import status as zone_status
from xietong.zones.models import RiskArea
from xietong.zones.schemas import (
    BuildingRiskStatus,
    Decision,
    EvaluationReport,
    EvaluationRequest,
    PersonRiskStatus,
    PublicRiskAreaPage,
    Refusal,
    ResidentRead,
    RiskAreaDetail,
    RiskAreaRead,
    RiskAreaRequest,
    WhatIfReport,
    WhatIfRequest,
)
from xietong.zones.vocabulary import ALL_STATUSES

router = APIRouter()
zones = APIRouter(prefix="/api/zones", tags=["zones"])
public = APIRouter(prefix="/api/public/zones", tags=["public"])


def _district_id(session: SessionDep, code: str | None) -> int | None:
    return areas_service.get_district(session, code=code).id if code else None


def _command_only(principal: Principal, action: str) -> None:
    if principal.role is not Role.command:
        raise PermissionDenied(f"only the command centre may {action}")


def _one(session: SessionDep, area_id: int) -> RiskAreaRead:
    return service.to_reads(session, [service.get_area(session, area_id=area_id)])[0]


@zones.get("", summary="Risk areas, newest first, optionally of one district or status")
def list_areas(
    paging: PageDep,
    session: SessionDep,
    _principal: PrincipalDep,
    district: str | None = None,
    area_status: Annotated[list[str] | None, Query(alias="status")] = None,
    building: str | None = None,
) -> Page[RiskAreaRead]:
    unknown = sorted(set(area_status or ()) - set(ALL_STATUSES))
    if unknown:
        raise DomainError(
            f"unknown status {unknown}; one of {list(ALL_STATUSES)}", code="status_unknown"
        )
    building_id = service.resolve_building(session, building_code=building).id if building else None
    areas, total = service.list_areas(
        session,
        district_id=_district_id(session, district),
        statuses=area_status,
        building_id=building_id,
        limit=paging.limit,
        offset=paging.offset,
    )
    return Page.of(service.to_reads(session, areas), total=total, params=paging)


def _open_area(body: RiskAreaRequest, acting: Acting, *, designate: bool) -> RiskAreaRead:
    area = service.open_area(
        acting.session,
        principal=acting.principal,
        building_code=body.building_code,
        reason=body.reason,
        designate=designate,
        community_code=body.community_code,
        street_code=body.street_code,
        tz=acting.settings.timezone,
        now=acting.now,
    )
    return service.to_reads(acting.session, [area])[0]


@zones.post(
    "/proposals",
    status_code=status.HTTP_201_CREATED,
    summary="Propose one building as a high-risk area (never a community)",
)
def propose(body: RiskAreaRequest, acting: ActingDep) -> RiskAreaRead:
    return _open_area(body, acting, designate=False)


@zones.post(
    "/designations",
    status_code=status.HTTP_201_CREATED,
    summary="Designate one building directly as a high-risk area, with a reason",
)
def designate(body: RiskAreaRequest, acting: ActingDep) -> RiskAreaRead:
    return _open_area(body, acting, designate=True)


@zones.get("/buildings/{code}", summary="The risk status of a building and its screening")
def building_status(
    today: TodayDep,
    code: str,
    session: SessionDep,
    _principal: PrincipalDep,
    settings: SettingsDep,
    day: date | None = None,
) -> BuildingRiskStatus:
    building = service.resolve_building(session, building_code=code)
    found = zone_status.building_statuses(session, building_ids=[building.id], today=day or today)
    return found[building.id]


@zones.get(
    "/persons/{person_id}",
    summary="The risk status of a person's residence and current building (audited)",
)
def person_status(
    today: TodayDep,
    person_id: int,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    reason: str | None = None,
) -> PersonRiskStatus:
    return zone_status.person_status(
        session, principal=principal, person_id=person_id, today=today, reason=reason
    )


@zones.post("/evaluations", summary="Run the daily lifting evaluation for a day (command)")
def evaluate(
    now: NowDep,
    body: EvaluationRequest,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
) -> EvaluationReport:
    _command_only(principal, "run the daily evaluation")
    return tasks.evaluate_day(session, day=body.day, tz=settings.timezone, now=now)


@zones.post("/whatif", summary="Replay a past period under another policy file (command)")
def what_if(body: WhatIfRequest, session: SessionDep, principal: PrincipalDep) -> WhatIfReport:
    _command_only(principal, "run a what-if")
    policy = policy_service.check_policy(text=body.policy_text, source="request body")
    return whatif.what_if(
        session,
        policy=policy,
        first_day=body.first_day,
        last_day=body.last_day,
        district_id=_district_id(session, body.district_code),
    )


@zones.get("/{area_id}", summary="One risk area with every step of its life")
def get_area(
    today: TodayDep,
    area_id: int,
    session: SessionDep,
    _principal: PrincipalDep,
    settings: SettingsDep,
) -> RiskAreaDetail:
    area = service.get_area(session, area_id=area_id)
    read = service.to_reads(session, [area])[0]
    detail = RiskAreaDetail(
        **read.model_dump(),
        events=service.event_reads(service.area_events(session, area_id=area_id)),
    )
    if area.status in ("active", "lifting_proposed") and area.active_from is not None:
        outlook = countdown.lifting_outlook(
            session,
            building_ids=[area.building_id],
            countable_from=[area.countdown_from or area.active_from],
            today=today,
        )[0]
        detail.clean_days_so_far = outlook.clean_days_so_far
        detail.earliest_lifting_on = (
            today if area.status == "lifting_proposed" else outlook.earliest_lifting_on
        )
    return detail


def _decided(
    decide: Callable[..., RiskArea], area_id: int, reason: str | None, acting: Acting
) -> RiskAreaRead:
    decide(
        acting.session,
        principal=acting.principal,
        area_id=area_id,
        reason=reason,
        tz=acting.settings.timezone,
        now=acting.now,
    )
    return _one(acting.session, area_id)


@zones.post("/{area_id}/approve", summary="Approve a proposed area: locked from today")
def approve(area_id: int, body: Decision, acting: ActingDep) -> RiskAreaRead:
    return _decided(service.approve_area, area_id, body.reason, acting)


@zones.post("/{area_id}/reject", summary="Reject a proposed area, with the reason")
def reject(area_id: int, body: Refusal, acting: ActingDep) -> RiskAreaRead:
    return _decided(service.reject_area, area_id, body.reason, acting)


@zones.post(
    "/{area_id}/lift",
    summary="Approve a proposed lifting, or lift an active area directly with a reason",
)
def lift(area_id: int, body: Decision, acting: ActingDep) -> RiskAreaRead:
    return _decided(service.lift_area, area_id, body.reason, acting)


@zones.post(
    "/{area_id}/lifting/reject",
    summary="Keep an area locked: its clean days count again from tomorrow",
)
def reject_lifting(area_id: int, body: Refusal, acting: ActingDep) -> RiskAreaRead:
    return _decided(service.reject_lifting, area_id, body.reason, acting)


@zones.get("/{area_id}/residents", summary="Residents of a locked building (masked, audited)")
def residents(
    paging: PageDep,
    area_id: int,
    session: SessionDep,
    principal: PrincipalDep,
) -> Page[ResidentRead]:
    items, total = zone_status.residents(
        session, principal=principal, area_id=area_id, limit=paging.limit, offset=paging.offset
    )
    return Page.of(items, total=total, params=paging)


@public.get("", summary="Current high-risk areas for the public (no token, no personal data)")
def public_list(
    paging: LongPageDep,
    today: TodayDep,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    district: str | None = None,
    day: Annotated[date | None, Query(description="The list as it stood on a day")] = None,
) -> PublicRiskAreaPage:
    response.headers["Cache-Control"] = "public, max-age=60"
    return zone_status.public_list(
        session,
        today=day or today,
        district_id=_district_id(session, district),
        limit=paging.limit,
        offset=paging.offset,
    )


router.include_router(zones)
router.include_router(public)
