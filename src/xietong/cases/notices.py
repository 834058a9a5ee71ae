"""The notices the cases domain sends through the outbox: a case recorded or reclassified (to the
districts of its report and residence) and a transmission link recorded or removed (to the
districts of both cases), each also to the command centre, in the transaction that makes it.

Dashboards listening to the stream fetch their figures again (the wall's points, lines and
shift summary read cases directly); nothing in the notice names the person.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from xietong.areas import service as areas_service
from xietong.cases.models import Case, TransmissionLink
from xietong.outbox import service as outbox

RECORDED = "cases.recorded"
LINKED = "cases.linked"
UNLINKED = "cases.unlinked"
RECLASSIFIED = "cases.reclassified"
# Every topic a case's life sends (dashboards listen for them).
TOPICS = (RECORDED, RECLASSIFIED, LINKED, UNLINKED)


def send_recorded(session: Session, case: Case, *, now: datetime) -> None:
    """Tell the case's districts and the command centre that a case was recorded."""
    send_recorded_many(session, [case], now=now)


def send_recorded_many(session: Session, cases: Sequence[Case], *, now: datetime) -> None:
    """`send_recorded` for a batch of cases, in one write to the outbox."""
    codes = areas_service.district_code_by_id(session)
    outbox.enqueue_many(
        session,
        messages=[
            _case_message(
                codes,
                case,
                topic=RECORDED,
                found_under_control=case.found_under_control,
                actor=case.created_by,
                key=f"case:{case.id}:recorded",
            )
            for case in cases
        ],
        now=now,
    )


def send_reclassified(
    session: Session, case: Case, *, previous: str, actor: str, now: datetime
) -> None:
    """Tell the case's districts and the command centre that its class changed (a correction or
    a conversion moves it between the counts)."""
    codes = areas_service.district_code_by_id(session)
    message = _case_message(
        codes,
        case,
        topic=RECLASSIFIED,
        previous=previous,
        converted=case.converted_at is not None,
        actor=actor,
        # A class may change more than once (back after a wrong correction): each change is one.
        key=f"case:{case.id}:reclassified:{case.classification}:{now.isoformat()}",
    )
    outbox.enqueue_many(session, messages=[message], now=now)


def _case_message(
    codes: Mapping[int, str], case: Case, *, topic: str, key: str, **extra: object
) -> outbox.Message:
    """A notice about one case to its districts of report and residence and the command centre;
    nothing in it names the person."""
    return outbox.Message(
        topic=topic,
        payload={
            "case_id": case.id,
            "classification": case.classification,
            "report_district": codes[case.report_district_id],
            "residence_district": codes[case.residence_district_id],
            "report_day": case.report_day,
            **extra,
        },
        audience_district_ids=[case.report_district_id, case.residence_district_id, None],
        idempotency_key=key,
    )


def send_linked(session: Session, link: TransmissionLink, *, now: datetime) -> None:
    """Tell both cases' districts and the command centre that a chain grew (or crossed)."""
    send_linked_many(session, [link], now=now)


def send_linked_many(session: Session, links: Sequence[TransmissionLink], *, now: datetime) -> None:
    """`send_linked` for a batch of links, in one write to the outbox."""
    codes = areas_service.district_code_by_id(session)
    outbox.enqueue_many(
        session,
        messages=[
            _link_message(
                codes,
                link,
                topic=LINKED,
                actor=link.created_by,
                key=f"case_link:{link.id}:linked",
            )
            for link in links
        ],
        now=now,
    )


def send_unlinked(session: Session, link: TransmissionLink, *, actor: str, now: datetime) -> None:
    """Tell both cases' districts and the command centre that a wrong link was removed (the
    chain split, and a spillover may no longer be one)."""
    # A removed link's id may be given again to a new link: the removal names its time.
    key = f"case_link:{link.id}:unlinked:{now.isoformat()}"
    codes = areas_service.district_code_by_id(session)
    message = _link_message(codes, link, topic=UNLINKED, actor=actor, key=key)
    outbox.enqueue_many(session, messages=[message], now=now)


def _link_message(
    codes: Mapping[int, str], link: TransmissionLink, *, topic: str, actor: str, key: str
) -> outbox.Message:
    return outbox.Message(
        topic=topic,
        payload={
            "link_id": link.id,
            "source_case_id": link.source_case_id,
            "target_case_id": link.target_case_id,
            "from_district": codes[link.from_district_id],
            "to_district": codes[link.to_district_id],
            "spillover": link.spillover,
            "actor": actor,
        },
        audience_district_ids=[link.from_district_id, link.to_district_id, None],
        idempotency_key=key,
    )
