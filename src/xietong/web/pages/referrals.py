"""The referral inbox of a district (sorted by urgency, nearest deadline or newest; "mine" for a
field worker), its sent referrals with their feedback, one referral's page with its notes and
assignee, the actions of the receiving district, and the command centre's board of overdue and
escalated referrals per pair of districts.

Lists come from `referrals.query_service.list_referrals` and actions go through
`referrals.action_service`, exactly as the API's routes do. The inbox table is also served alone
(`/referrals/rows`) so that the page replaces it when the live stream announces a change.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from xietong.api.deps import SessionDep, get_protector
from xietong.areas import service as areas_service
from xietong.core.errors import PermissionDenied, ValidationFailed
from xietong.core.principal import Principal, Role
from xietong.people.protection import PersonalDataProtector
from xietong.referrals.actions import service as action_service
from xietong.referrals.inbox import service as query_service
from xietong.referrals.inbox.service import Box, Sort
from xietong.referrals.schemas import ReferralSummary
from xietong.referrals.states import OPEN, Action, Status, allowed_actions
from xietong.web import forms
from xietong.web.data import maps
from xietong.web.pages import referral_marks
from xietong.web.pages.common import act, error_page, guard
from xietong.web.pages.listing import ListPage, ListRequest, Paging
from xietong.web.rendering import district_labels, query_url, render, render_fragment
from xietong.web.session import Viewer, ViewerDep

router = APIRouter(include_in_schema=False)

STATUS_FILTERS = ("open", "all", *(s.value for s in Status))
# The default (urgent) is the order the board and the API use.
SORTS: tuple[Sort, ...] = ("urgent", "deadline", "newest")
REASONS = ("pooled_positive", "positive", "close_contact", "left_high_risk_area", "manual")
LIVE_TOPICS = (
    "referral.pushed",
    "referral.acknowledged",
    "referral.located",
    "referral.controlled",
    "referral.closed",
    "referral.declined",
    "referral.rerouted",
    "referral.reassigned",
    "referral.escalated",
    "referral.assigned",
    "referral.unassigned",
    "referral.noted",
)
# The roles that work on referrals (the referrals service refuses the others).
_ACTORS = (Role.command, Role.district_coordinator, Role.field_worker)


@dataclass(frozen=True)
class InboxQuery:
    box: Box
    status: str
    reason: str | None
    district: str | None
    limit: int
    offset: int
    sort: Sort = "urgent"
    mine: bool = False

    def params(self) -> dict[str, object]:
        return {
            "box": self.box,
            "status": self.status,
            "reason": self.reason,
            "district": self.district,
            "sort": None if self.sort == "urgent" else self.sort,
            "mine": "1" if self.mine else None,
            "limit": self.limit,
            "offset": self.offset,
        }


def boxes_for(principal: Principal) -> tuple[Box, ...]:
    if principal.district_id is None:
        return ("inbox", "overdue", "escalated", "due_soon", "all")
    return ("inbox", "outbox")


@dataclass(frozen=True)
class InboxParams:
    """The inbox's query parameters as sent, before they are checked against the viewer."""

    box: str | None = None
    status: str | None = None
    reason: str | None = None
    district: str | None = None
    sort: str | None = None
    mine: str | None = None


InboxParamsDep = Annotated[InboxParams, Depends()]


def parse_query(
    principal: Principal, params: InboxParams, *, limit: int, offset: int
) -> InboxQuery:
    boxes = boxes_for(principal)
    chosen: Box = boxes[0]
    for candidate in boxes:
        if candidate == params.box:
            chosen = candidate
    # The sender's view keeps answered referrals in sight (their feedback is the point).
    default_status = "all" if chosen == "outbox" else "open"
    return InboxQuery(
        box=chosen,
        status=params.status if params.status in STATUS_FILTERS else default_status,
        reason=params.reason if params.reason in REASONS else None,
        district=params.district or None,
        limit=limit,
        offset=offset,
        sort=next((s for s in SORTS if s == params.sort), "urgent"),
        mine=params.mine in ("1", "on", "true"),
    )


def _statuses(choice: str) -> list[Status] | None:
    if choice == "all":
        return None
    if choice == "open":
        return sorted(OPEN)
    return [Status(choice)]


@dataclass(frozen=True)
class Row:
    """One line of the inbox: the service's summary and what this viewer may do with it."""

    referral: ReferralSummary
    actions: list[str]
    feedback: str | None
    person_link: bool
    unread: bool = False


def inbox_rows(
    session: Session,
    viewer: Viewer,
    principal: Principal,
    query: InboxQuery,
    protector: PersonalDataProtector,
) -> Paging[Row]:
    items, total = query_service.list_referrals(
        session,
        principal=principal,
        now=viewer.now,
        box=query.box,
        statuses=_statuses(query.status),
        reason=query.reason,
        district_code=query.district,
        assignee=principal.username if query.mine else None,
        sort=query.sort,
        limit=query.limit,
        offset=query.offset,
    )
    labels = district_labels(session)
    own_code = labels[principal.district_id].code if principal.district_id is not None else None
    unread = referral_marks.unread_ids(session, principal, items, own_code)
    rows = []
    for item in items:
        receiving = principal.is_city or item.to_district_code == own_code
        actions = [a.value for a in allowed_actions(item.status)] if receiving else []
        actions = [a for a in actions if a in ("acknowledge", "locate", "control", "close")]
        feedback = None
        if item.status is Status.closed and not receiving and item.from_district_code == own_code:
            # The sending district's loop: the feedback is part of the referral's own read,
            # which for the sender carries no personal data (the receiver's and the command
            # centre's would read the person too, so they find the feedback on its own page).
            feedback = query_service.read_referral(
                session,
                principal=principal,
                protector=protector,
                referral_id=item.id,
                now=viewer.now,
            ).feedback
        person_link = principal.is_city or (
            receiving and item.status not in (Status.pushed, Status.declined)
        )
        rows.append(Row(item, actions, feedback, person_link, item.id in unread))
    return Paging(rows, total, query.limit, query.offset)


def _rows_context(
    session: Session,
    viewer: Viewer,
    principal: Principal,
    query: InboxQuery,
    protector: PersonalDataProtector,
) -> dict[str, Any]:
    return {
        "page": inbox_rows(session, viewer, principal, query, protector),
        "inbox": query,
        "back_to": _list_url(query),
        "row_query": query.params(),
    }


def _list_url(query: InboxQuery) -> str:
    return query_url("/referrals", query.params())


@router.get("/referrals")
def inbox_page(request: Request, listing: ListPage, params: InboxParamsDep) -> Response:
    viewer, session = listing.viewer, listing.session

    def build(principal: Principal) -> Response:
        query = parse_query(principal, params, limit=listing.limit, offset=listing.offset)
        context = _rows_context(session, viewer, principal, query, get_protector(request))
        labels = district_labels(session)
        own = labels[principal.district_id].code if principal.district_id is not None else None
        context.update(
            {
                "unread_answers": referral_marks.unread_answers(session, viewer, principal, own),
                "boxes": boxes_for(principal),
                "status_filters": STATUS_FILTERS,
                "sorts": SORTS,
                "reasons": REASONS,
                "live": True,
                "live_topics": ",".join(LIVE_TOPICS),
                "rows_url": query_url("/referrals/rows", query.params()),
            }
        )
        # "Data as of" the last change to a referral the viewer sees, not the rendering.
        as_of = query_service.newest_change(session, principal=principal)
        return render(viewer, session, "referrals.html", context, query=query.params(), as_of=as_of)

    return listing.guard(build, roles=_ACTORS)


@router.get("/referrals/rows")
def inbox_rows_fragment(request: Request, listing: ListPage, params: InboxParamsDep) -> Response:
    """The inbox table alone, for the live refresh (the page's script swaps it in)."""
    viewer, session = listing.viewer, listing.session
    principal = viewer.principal
    if principal is None or principal.role not in _ACTORS:
        return HTMLResponse("", status_code=401 if principal is None else 403)
    query = parse_query(principal, params, limit=listing.limit, offset=listing.offset)
    context = _rows_context(session, viewer, principal, query, get_protector(request))
    return render_fragment(viewer, session, "referrals_rows.html", context)


@router.get("/referrals/board")
def board_page(listing: ListPage, district: str | None = None) -> Response:
    session = listing.session

    def build(principal: Principal) -> Response:
        page, context = board_context(listing, principal, district=district or None)
        as_of = query_service.newest_change(session, principal=principal)
        filters = {"district": district}
        return listing.render(
            "referrals_board.html", page, filters=filters, context=context, as_of=as_of
        )

    return listing.guard(build, roles=(Role.command,))


def board_context(
    listing: ListRequest, principal: Principal, *, district: str | None
) -> tuple[Paging[ReferralSummary], dict[str, Any]]:
    """The page of overdue referrals the board lists (of `district` if one is chosen), and its
    tiles, table of pairs and map: the pairs are counted in the database in one read, which
    gives every tile and the list's total, so only the page shown is read row by row."""
    viewer, session = listing.viewer, listing.session
    waiting = query_service.waiting_by_pair(session, principal=principal, now=viewer.now)
    pairs = [pair for pair in waiting if pair.overdue or pair.escalated]
    shown: list[ReferralSummary] = []
    shown_total = 0
    # An unknown district has no overdue referral (the filter's choice came from a stale link).
    if district is None or district in areas_service.district_id_by_code(session):
        shown, shown_total = query_service.list_referrals(
            session,
            principal=principal,
            now=viewer.now,
            box="overdue",
            district_code=district,
            limit=listing.limit,
            offset=listing.offset,
            audited=False,
            # The list's clauses are the pairs': its referrals to or from the district chosen.
            known_total=sum(
                pair.overdue for pair in pairs if district in (None, pair.from_code, pair.to_code)
            ),
        )
    # Each tile is the total of the list it links to: the same clauses, the same now.
    due_soon_total = sum(pair.due_soon for pair in waiting)
    due_soon: list[ReferralSummary] = []
    if due_soon_total:
        due_soon, _ = query_service.list_referrals(
            session,
            principal=principal,
            now=viewer.now,
            box="due_soon",
            limit=1,
            audited=False,
            known_total=due_soon_total,
        )
    # What the board read, audited in one write rather than one per list.
    query_service.audit_listed(
        session, principal=principal, referral_ids=[item.id for item in [*shown, *due_soon]]
    )
    receiving: Counter[str] = Counter()
    for pair in pairs:
        receiving[pair.to_code] += pair.overdue
    return listing.page(shown, shown_total), {
        "pairs": pairs,
        "overdue_total": sum(pair.overdue for pair in pairs),
        "escalated_total": sum(pair.escalated for pair in pairs),
        "due_soon_total": due_soon_total,
        "district": district or "",
        "wall_map": maps.board_map(
            labels=district_labels(session), lang=viewer.lang, overdue=+receiving
        ),
    }


@router.get("/referrals/{referral_id}")
def referral_page(
    referral_id: int, request: Request, viewer: ViewerDep, session: SessionDep
) -> Response:
    def build(principal: Principal) -> Response:
        referral = query_service.read_referral(
            session,
            principal=principal,
            protector=get_protector(request),
            referral_id=referral_id,
            now=viewer.now,
        )
        history = query_service.history(session, principal=principal, referral_id=referral_id)
        labels = district_labels(session)
        own = labels[principal.district_id].code if principal.district_id is not None else None
        receiving = principal.is_city or referral.to_district_code == own
        may_assign = (
            receiving
            and principal.role in (Role.command, Role.district_coordinator)
            and referral.status in OPEN
        )
        workers = (
            action_service.assignable(session, principal=principal, referral_id=referral_id)
            if may_assign
            else []
        )
        if own is not None and referral.from_district_code == own:
            forms.mark_seen(
                session,
                username=principal.username,
                entity="referral",
                entity_id=referral_id,
                status=referral.status.value,
                now=viewer.now,
            )
        return render(
            viewer,
            session,
            "referral.html",
            {
                "r": referral,
                "events": history,
                "actions": (
                    [a.value for a in allowed_actions(referral.status)] if receiving else []
                ),
                "may_reassign": principal.is_city and principal.role is Role.command,
                "may_assign": may_assign,
                "workers": workers,
                "back_to": f"/referrals/{referral_id}",
            },
            as_of=max((e.at for e in history), default=None),
        )

    return guard(viewer, session, build, roles=_ACTORS)


# --- actions -----------------------------------------------------------------------------------

Text = Annotated[str, Form()]


@router.post("/referrals/{referral_id}/{action}")
def referral_action(
    referral_id: int,
    action: str,
    viewer: ViewerDep,
    session: SessionDep,
    csrf: Text = "",
    note: Text = "",
    feedback: Text = "",
    reason: Text = "",
    district: Text = "",
    assignee: Text = "",
    text: Text = "",
    next: Text = "",
    form_key: Text = "",
) -> Response:
    tz = viewer.settings.timezone
    at = viewer.now

    def run(principal: Principal) -> None:
        common: dict[str, Any] = {
            "principal": principal,
            "referral_id": referral_id,
            "at": at,
            "tz": tz,
        }
        if action in ("acknowledge", "locate", "control"):
            action_service.act(session, action=Action(action), note=note or None, **common)
        elif action == "close":
            action_service.close(session, feedback=feedback, **common)
        elif action == "decline":
            action_service.decline(
                session, reason=reason, redirect_to_district_code=district or None, **common
            )
        elif action == "reassign":
            action_service.reassign(session, to_district_code=district, note=note or None, **common)
        elif action == "note":
            action_service.add_note(
                session, principal=principal, referral_id=referral_id, text=text, at=at
            )
        elif action == "assign":
            action_service.assign(
                session,
                principal=principal,
                referral_id=referral_id,
                assignee=assignee or None,
                at=at,
            )
        else:
            raise ValidationFailed(summary=f"unknown action {action!r}")

    if viewer.principal is not None and viewer.principal.role not in _ACTORS:
        return error_page(viewer, session, PermissionDenied("role may not act on referrals"))
    return act(
        viewer, session, csrf=csrf, action=run, back_to=next or "/referrals", form_key=form_key
    )
