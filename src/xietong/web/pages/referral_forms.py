"""Referrals made and followed from the screen: the form that pushes a referral (from a case or
contact page, or from scratch), several acknowledged at once, the inbox as CSV.

A referral is made through `referrals.service.create_manual`, as `POST /api/referrals` does;
several are acknowledged through `referrals.actions.service.acknowledge_many`, as
`POST /api/referrals/acknowledge` does.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from xietong.api.deps import SessionDep
from xietong.core.errors import DomainError, RowError, ValidationFailed
from xietong.core.principal import Principal, Role
from xietong.referrals import service as referrals_service
from xietong.referrals.actions import service as action_service
from xietong.referrals.inbox import service as query_service
from xietong.referrals.schemas import ReferralCreate, ReferralSummary
from xietong.web.export import csv_response
from xietong.web.form_errors import field_errors, labelled, message
from xietong.web.i18n import translate
from xietong.web.pages.common import admit, already_sent, error_page, guard, safe_next
from xietong.web.pages.referrals import boxes_for
from xietong.web.rendering import render
from xietong.web.session import Viewer, ViewerDep, check_csrf

router = APIRouter(include_in_schema=False)

ACTORS = (Role.command, Role.district_coordinator, Role.field_worker)
REASONS = ("close_contact", "left_high_risk_area", "positive", "pooled_positive", "manual")
Text = Annotated[str, Form()]
# The model's fields named otherwise in the form.
FIELDS = {"to_district_code": "to_district"}


def _form(
    viewer: Viewer,
    session: Session,
    *,
    values: dict[str, str],
    errors: list[RowError],
    status_code: int = 200,
) -> Response:
    context = {"values": values, "errors": errors, "reasons": REASONS}
    return render(viewer, session, "referral_new.html", context, status_code=status_code)


@router.get("/referrals/new")
def new_referral(
    viewer: ViewerDep,
    session: SessionDep,
    person: str = "",
    reason: str = "",
    evidence: str = "",
) -> Response:
    def build(principal: Principal) -> Response:
        values = {"person_id": person, "reason": reason, "evidence": evidence}
        return _form(viewer, session, values=values, errors=[])

    return guard(viewer, session, build, roles=ACTORS)


@router.post("/referrals/new")
def push_referral(
    viewer: ViewerDep,
    session: SessionDep,
    csrf: Text = "",
    person_id: Text = "",
    reason: Text = "",
    evidence: Text = "",
    to_district: Text = "",
    note: Text = "",
    form_key: Text = "",
) -> Response:
    """Push a referral; the same person, reason and evidence give the same referral."""
    principal = admit(viewer, session, roles=ACTORS)
    if isinstance(principal, Response):
        return principal
    values = {
        "person_id": person_id,
        "reason": reason,
        "evidence": evidence,
        "to_district": to_district,
        "note": note,
    }
    lang = viewer.lang
    labels = {
        "person_id": translate(lang, "referrals.person_id"),
        "reason": translate(lang, "referrals.reason"),
        "evidence": translate(lang, "referrals.evidence"),
        "to_district_code": translate(lang, "referrals.to"),
        "from_district_code": translate(lang, "referrals.from"),
        "note": translate(lang, "referrals.note"),
    }
    try:
        check_csrf(viewer, csrf)
    except DomainError as exc:
        return error_page(viewer, session, exc)
    errors: list[RowError] = []
    referral_in: ReferralCreate | None = None
    try:
        referral_in = ReferralCreate.model_validate(
            {
                "person_id": person_id.strip(),
                "reason": reason,
                "evidence": evidence.strip(),
                "to_district_code": to_district or None,
                "note": note.strip() or None,
            }
        )
    except ValidationError as exc:
        errors = field_errors(exc, lang=lang, record="referral", labels=labels, fields=FIELDS)
    if not to_district:
        # No default: the receiving district is chosen, never the person's home by omission.
        missing = message(lang, "missing", labels["to_district_code"])
        errors.append(RowError("referral", "to_district", missing))
    if errors or referral_in is None:
        return _form(viewer, session, values=values, errors=errors, status_code=422)
    try:
        with session.begin_nested():
            if already_sent(viewer, session, form_key):
                return RedirectResponse("/referrals?box=outbox", status_code=303)
            referral, _ = referrals_service.create_manual(
                session,
                principal=principal,
                referral_in=referral_in,
                at=viewer.now,
                tz=viewer.settings.timezone,
            )
    except ValidationFailed as refused:
        shown = labelled(refused.errors, lang=lang, labels=labels, fields=FIELDS)
        return _form(viewer, session, values=values, errors=shown, status_code=422)
    except DomainError as exc:
        return error_page(viewer, session, exc)
    return RedirectResponse(f"/referrals/{referral.id}", status_code=303)


@router.post("/referrals/acknowledge")
def acknowledge_selected(
    viewer: ViewerDep,
    session: SessionDep,
    csrf: Text = "",
    referral_id: Annotated[list[str] | None, Form()] = None,
    next: Text = "",
    form_key: Text = "",
) -> Response:
    """Acknowledge the ticked referrals; those that could not be are named with the reason."""
    principal = admit(viewer, session, roles=ACTORS)
    if isinstance(principal, Response):
        return principal
    back = safe_next(next, "/referrals")
    ids = [int(v) for v in referral_id or [] if v.strip().isdigit() and len(v.strip()) < 19]
    try:
        check_csrf(viewer, csrf)
        with session.begin_nested():
            if already_sent(viewer, session, form_key):
                return RedirectResponse(back, status_code=303)
            outcome = action_service.acknowledge_many(
                session,
                principal=principal,
                referral_ids=ids,
                at=viewer.now,
                tz=viewer.settings.timezone,
            )
    except DomainError as exc:
        return error_page(viewer, session, exc)
    if not outcome.refused:
        return RedirectResponse(back, status_code=303)
    context = {"done": outcome.done, "refused": outcome.refused, "back": back}
    return render(
        viewer,
        session,
        "referrals_bulk.html",
        context,
        status_code=200 if outcome.done else 422,
    )


@router.get("/referrals.csv")
def referrals_csv(
    request: Request, viewer: ViewerDep, session: SessionDep, box: str = "inbox"
) -> Response:
    """The viewer's referrals of one box (no personal data: the list rows only)."""

    def build(principal: Principal) -> Response:
        chosen = box if box in boxes_for(principal) else boxes_for(principal)[0]
        rows: list[ReferralSummary] = []
        while len(rows) < 10_000:
            items, _ = query_service.list_referrals(
                session,
                principal=principal,
                now=viewer.now,
                box=chosen,
                limit=500,
                offset=len(rows),
            )
            rows.extend(items)
            if len(items) < 500:
                break
        return csv_response(
            session,
            principal=principal,
            name=f"referrals-{chosen}",
            header=[
                "id",
                "reason",
                "evidence",
                "status",
                "from",
                "to",
                "hop",
                "pushed_at",
                "next_deadline",
                "overdue",
                "escalated_at",
                "assignee",
            ],
            rows=[
                [
                    r.id,
                    r.reason,
                    r.evidence,
                    r.status.value,
                    r.from_district_code,
                    r.to_district_code,
                    r.hop,
                    r.pushed_at.isoformat(),
                    r.next_deadline.isoformat() if r.next_deadline else "",
                    r.overdue,
                    r.escalated_at.isoformat() if r.escalated_at else "",
                    r.assignee or "",
                ]
                for r in rows
            ],
            detail={"box": chosen},
        )

    return guard(viewer, session, build, roles=ACTORS)
