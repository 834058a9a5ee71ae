"""Routes of referrals: lists (inbox, outbox, overdue, escalated; "mine"), one referral, its
history, manual creation, the actions of the receiving district (one or several at once, notes,
assignment to a field worker) and of the command centre."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from xietong.api.deps import (
    Acting,
    ActingDep,
    NowDep,
    PageDep,
    PrincipalDep,
    SessionDep,
)
from xietong.core.pagination import Page
from xietong.referrals import service
from xietong.referrals.actions import service as action_service
from xietong.referrals.inbox import service as query_service
from xietong.referrals.inbox.service import Box, Sort
from xietong.referrals.schemas import (
    AcknowledgedMany,
    AcknowledgeMany,
    ActionNote,
    Assign,
    Decline,
    Feedback,
    NoteCreate,
    Reassign,
    ReferralCreate,
    ReferralCreated,
    ReferralEventRead,
    ReferralRead,
    ReferralSummary,
    Refusal,
)
from xietong.referrals.states import Action, Status

# The steps that carry only a note (`actions.service.STEPS`).
Step = Literal["acknowledge", "located", "controlled"]

router = APIRouter(prefix="/api/referrals", tags=["referrals"])


@router.get("", summary="Referrals in your scope, most urgent first (inbox, outbox, overdue)")
def list_referrals(
    paging: PageDep,
    now: NowDep,
    session: SessionDep,
    principal: PrincipalDep,
    box: Box = "all",
    referral_status: Annotated[list[Status] | None, Query(alias="status")] = None,
    reason: str | None = None,
    district: str | None = None,
    sort: Sort = "urgent",
    mine: Annotated[bool, Query(description="Only those assigned to you")] = False,
) -> Page[ReferralSummary]:
    items, total = query_service.list_referrals(
        session,
        principal=principal,
        now=now,
        box=box,
        statuses=referral_status,
        reason=reason,
        district_code=district,
        assignee=principal.username if mine else None,
        sort=sort,
        limit=paging.limit,
        offset=paging.offset,
    )
    return Page.of(items, total=total, params=paging)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Refer a person by hand (the same person, reason and evidence: the same referral)",
    responses={200: {"description": "The cause had already opened this referral"}},
)
def create_referral(
    referral_in: ReferralCreate, response: Response, acting: ActingDep
) -> ReferralCreated:
    referral, created = service.create_manual(
        acting.session,
        principal=acting.principal,
        referral_in=referral_in,
        at=acting.now,
        tz=acting.settings.timezone,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return ReferralCreated(referral=_read(acting, referral.id), created=created)


@router.post(
    "/acknowledge",
    summary="Acknowledge several referrals at once; each one that cannot be is named with why "
    "and left as it was",
)
def acknowledge_many(body: AcknowledgeMany, acting: ActingDep) -> AcknowledgedMany:
    outcome = action_service.acknowledge_many(
        acting.session,
        principal=acting.principal,
        referral_ids=body.referral_ids,
        at=acting.now,
        tz=acting.settings.timezone,
        note=body.note,
    )
    return AcknowledgedMany(
        acknowledged=outcome.done,
        refused=[
            Refusal(referral_id=referral_id, field=e.field, reason=e.reason)
            for referral_id, e in outcome.refused.items()
        ],
    )


@router.get("/{referral_id}", summary="One referral with its chain (404 outside your scope)")
def get_referral(referral_id: int, acting: ActingDep) -> ReferralRead:
    return _read(acting, referral_id)


@router.get("/{referral_id}/history", summary="Every event of a referral, oldest first")
def referral_history(
    referral_id: int, session: SessionDep, principal: PrincipalDep
) -> list[ReferralEventRead]:
    return query_service.history(session, principal=principal, referral_id=referral_id)


def _read(acting: Acting, referral_id: int) -> ReferralRead:
    """The referral as the caller may read it now (an audited read of its person)."""
    return query_service.read_referral(
        acting.session,
        principal=acting.principal,
        protector=acting.protector,
        referral_id=referral_id,
        now=acting.now,
    )


def _acted(
    acting: Acting,
    referral_id: int,
    action: Action,
    *,
    note: str | None = None,
    to_district_code: str | None = None,
) -> ReferralRead:
    action_service.act(
        acting.session,
        principal=acting.principal,
        referral_id=referral_id,
        action=action,
        at=acting.now,
        tz=acting.settings.timezone,
        note=note,
        to_district_code=to_district_code,
    )
    return _read(acting, referral_id)


@router.post("/{referral_id}/close", summary="Close with feedback to the sending district")
def close(referral_id: int, body: Feedback, acting: ActingDep) -> ReferralRead:
    return _acted(acting, referral_id, Action.close, note=body.feedback)


@router.post(
    "/{referral_id}/decline",
    summary="Decline with a reason; naming a district pushes the referral on there",
)
def decline(referral_id: int, body: Decline, acting: ActingDep) -> ReferralRead:
    action = Action.reroute if body.redirect_to_district_code else Action.decline
    return _acted(
        acting,
        referral_id,
        action,
        note=body.reason,
        to_district_code=body.redirect_to_district_code,
    )


@router.post("/{referral_id}/reassign", summary="Push the referral to another district (command)")
def reassign(referral_id: int, body: Reassign, acting: ActingDep) -> ReferralRead:
    return _acted(
        acting,
        referral_id,
        Action.reassign,
        note=body.note,
        to_district_code=body.to_district_code,
    )


@router.post(
    "/{referral_id}/notes",
    status_code=status.HTTP_201_CREATED,
    summary="Add a note to the referral's history (whoever sees the referral)",
)
def add_note(referral_id: int, body: NoteCreate, acting: ActingDep) -> ReferralEventRead:
    event = action_service.add_note(
        acting.session,
        principal=acting.principal,
        referral_id=referral_id,
        text=body.text,
        at=acting.now,
    )
    history = query_service.history(
        acting.session, principal=acting.principal, referral_id=referral_id
    )
    return next(e for e in history if e.id == event.id)


@router.get(
    "/{referral_id}/assignable",
    summary="The field workers of the district that holds the referral (usernames)",
)
def assignable(referral_id: int, session: SessionDep, principal: PrincipalDep) -> list[str]:
    return action_service.assignable(session, principal=principal, referral_id=referral_id)


@router.post(
    "/{referral_id}/assign",
    summary="Give the referral to a field worker of the receiving district (null: to nobody)",
)
def assign(referral_id: int, body: Assign, acting: ActingDep) -> ReferralRead:
    action_service.assign(
        acting.session,
        principal=acting.principal,
        referral_id=referral_id,
        assignee=body.assignee,
        at=acting.now,
    )
    return _read(acting, referral_id)


# After the named actions: a path parameter would match them first.
@router.post(
    "/{referral_id}/{step}",
    summary="Take the referral on (acknowledge), or the person is found (located, 找到人) or "
    "under control (controlled, 管住人)",
)
def take_step(
    referral_id: int,
    step: Step,
    acting: ActingDep,
    body: ActionNote | None = None,
) -> ReferralRead:
    note = body.note if body else None
    return _acted(acting, referral_id, action_service.STEPS[step], note=note)
