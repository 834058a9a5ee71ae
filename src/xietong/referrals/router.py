"""Routes of referrals: lists (inbox, outbox, overdue, escalated), one referral, its history,
manual creation and the actions of the receiving district and the command centre."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from sqlalchemy.orm import Session

from xietong.api.deps import NowDep, PrincipalDep, ProtectorDep, SessionDep, SettingsDep
from xietong.core.pagination import Page
from xietong.core.principal import Principal
from xietong.people.protection import PersonalDataProtector
from xietong.referrals import service
from xietong.referrals.actions import service as action_service
from xietong.referrals.inbox import service as query_service
from xietong.referrals.inbox.service import Box
from xietong.referrals.schemas import (
    ActionNote,
    Decline,
    Feedback,
    Reassign,
    ReferralCreate,
    ReferralCreated,
    ReferralEventRead,
    ReferralRead,
    ReferralSummary,
)
from xietong.referrals.states import Status

router = APIRouter(prefix="/api/referrals", tags=["referrals"])


@router.get("", summary="Referrals in your scope, most urgent first (inbox, outbox, overdue)")
def list_referrals(
    now: NowDep,
    session: SessionDep,
    principal: PrincipalDep,
    box: Box = "all",
    referral_status: Annotated[list[Status] | None, Query(alias="status")] = None,
    reason: str | None = None,
    district: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[ReferralSummary]:
    items, total = query_service.list_referrals(
        session,
        principal=principal,
        now=now,
        box=box,
        statuses=referral_status,
        reason=reason,
        district_code=district,
        limit=limit,
        offset=offset,
    )
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Refer a person by hand (the same person, reason and evidence: the same referral)",
    responses={200: {"description": "The cause had already opened this referral"}},
)
def create_referral(
    now: NowDep,
    referral_in: ReferralCreate,
    response: Response,
    session: SessionDep,
    principal: PrincipalDep,
    protector: ProtectorDep,
    settings: SettingsDep,
) -> ReferralCreated:
    referral, created = service.create_manual(
        session, principal=principal, referral_in=referral_in, at=now, tz=settings.timezone
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return ReferralCreated(
        referral=query_service.read_referral(
            session, principal=principal, protector=protector, referral_id=referral.id, now=now
        ),
        created=created,
    )


@router.get("/{referral_id}", summary="One referral with its chain (404 outside your scope)")
def get_referral(
    now: NowDep,
    referral_id: int,
    session: SessionDep,
    principal: PrincipalDep,
    protector: ProtectorDep,
) -> ReferralRead:
    return query_service.read_referral(
        session, principal=principal, protector=protector, referral_id=referral_id, now=now
    )


@router.get("/{referral_id}/history", summary="Every event of a referral, oldest first")
def referral_history(
    referral_id: int, session: SessionDep, principal: PrincipalDep
) -> list[ReferralEventRead]:
    return query_service.history(session, principal=principal, referral_id=referral_id)


def _read(
    session: Session,
    principal: Principal,
    protector: PersonalDataProtector,
    referral_id: int,
    now: datetime,
) -> ReferralRead:
    return query_service.read_referral(
        session, principal=principal, protector=protector, referral_id=referral_id, now=now
    )


@router.post("/{referral_id}/acknowledge", summary="Take the referral on (receiving district)")
def acknowledge(
    now: NowDep,
    referral_id: int,
    session: SessionDep,
    principal: PrincipalDep,
    protector: ProtectorDep,
    settings: SettingsDep,
    body: ActionNote | None = None,
) -> ReferralRead:
    action_service.acknowledge(
        session,
        principal=principal,
        referral_id=referral_id,
        at=now,
        tz=settings.timezone,
        note=body.note if body else None,
    )
    return _read(session, principal, protector, referral_id, now)


@router.post("/{referral_id}/located", summary="The person is found (找到人)")
def located(
    now: NowDep,
    referral_id: int,
    session: SessionDep,
    principal: PrincipalDep,
    protector: ProtectorDep,
    settings: SettingsDep,
    body: ActionNote | None = None,
) -> ReferralRead:
    action_service.mark_located(
        session,
        principal=principal,
        referral_id=referral_id,
        at=now,
        tz=settings.timezone,
        note=body.note if body else None,
    )
    return _read(session, principal, protector, referral_id, now)


@router.post("/{referral_id}/controlled", summary="The person is under control (管住人)")
def controlled(
    now: NowDep,
    referral_id: int,
    session: SessionDep,
    principal: PrincipalDep,
    protector: ProtectorDep,
    settings: SettingsDep,
    body: ActionNote | None = None,
) -> ReferralRead:
    action_service.mark_controlled(
        session,
        principal=principal,
        referral_id=referral_id,
        at=now,
        tz=settings.timezone,
        note=body.note if body else None,
    )
    return _read(session, principal, protector, referral_id, now)


@router.post("/{referral_id}/close", summary="Close with feedback to the sending district")
def close(
    now: NowDep,
    referral_id: int,
    body: Feedback,
    session: SessionDep,
    principal: PrincipalDep,
    protector: ProtectorDep,
    settings: SettingsDep,
) -> ReferralRead:
    action_service.close(
        session,
        principal=principal,
        referral_id=referral_id,
        feedback=body.feedback,
        at=now,
        tz=settings.timezone,
    )
    return _read(session, principal, protector, referral_id, now)


@router.post(
    "/{referral_id}/decline",
    summary="Decline with a reason; naming a district pushes the referral on there",
)
def decline(
    now: NowDep,
    referral_id: int,
    body: Decline,
    session: SessionDep,
    principal: PrincipalDep,
    protector: ProtectorDep,
    settings: SettingsDep,
) -> ReferralRead:
    action_service.decline(
        session,
        principal=principal,
        referral_id=referral_id,
        reason=body.reason,
        redirect_to_district_code=body.redirect_to_district_code,
        at=now,
        tz=settings.timezone,
    )
    return _read(session, principal, protector, referral_id, now)


@router.post("/{referral_id}/reassign", summary="Push the referral to another district (command)")
def reassign(
    now: NowDep,
    referral_id: int,
    body: Reassign,
    session: SessionDep,
    principal: PrincipalDep,
    protector: ProtectorDep,
    settings: SettingsDep,
) -> ReferralRead:
    action_service.reassign(
        session,
        principal=principal,
        referral_id=referral_id,
        to_district_code=body.to_district_code,
        note=body.note,
        at=now,
        tz=settings.timezone,
    )
    return _read(session, principal, protector, referral_id, now)
