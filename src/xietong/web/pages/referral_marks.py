"""The sending district's unread mark: a referral it sent that was answered (closed with
feedback, or declined) since the district's user last opened it. The mark compares the
referral's state with the one the user saw last (`web.forms.seen_status`).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from xietong.core.principal import Principal
from xietong.referrals.inbox import service as query_service
from xietong.referrals.schemas import ReferralSummary
from xietong.referrals.states import Status
from xietong.web import forms
from xietong.web.session import Viewer

# What counts as an answer for the sending district.
ANSWERED = (Status.closed, Status.declined)
UNREAD_SCAN = 500


def is_sender(principal: Principal, summary: ReferralSummary, own_code: str | None) -> bool:
    return principal.district_id is not None and summary.from_district_code == own_code


def unread_ids(
    session: Session, principal: Principal, summaries: list[ReferralSummary], own_code: str | None
) -> set[int]:
    """The sender's referrals answered (closed or declined) since the sender last opened them."""
    answered = [
        s.id for s in summaries if s.status in ANSWERED and is_sender(principal, s, own_code)
    ]
    seen = forms.seen_status(
        session, username=principal.username, entity="referral", entity_ids=answered
    )
    status_of = {s.id: s.status.value for s in summaries}
    return {i for i in answered if seen.get(i) != status_of[i]}


def unread_answers(
    session: Session, viewer: Viewer, principal: Principal, own_code: str | None
) -> int:
    """How many of the district's latest sent referrals carry an answer it has not opened."""
    if principal.district_id is None:
        return 0
    items, _ = query_service.list_referrals(
        session,
        principal=principal,
        now=viewer.now,
        box="outbox",
        statuses=list(ANSWERED),
        limit=UNREAD_SCAN,
    )
    return len(unread_ids(session, principal, items, own_code))
