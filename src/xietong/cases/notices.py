"""The notices the cases domain sends through the outbox: a case recorded (to the districts of
its report and residence) and a transmission link recorded (to the districts of both cases), each
also to the command centre, in the transaction that records it.

Dashboards listening to the stream fetch their figures again (the wall's points, lines and
shift summary read cases directly); nothing in the notice names the person.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from xietong.areas import service as areas_service
from xietong.cases.models import Case, TransmissionLink
from xietong.outbox import service as outbox

RECORDED = "cases.recorded"
LINKED = "cases.linked"


def send_recorded(session: Session, case: Case, *, now: datetime) -> None:
    """Tell the case's districts and the command centre that a case was recorded."""
    send_recorded_many(session, [case], now=now)


def send_recorded_many(session: Session, cases: Sequence[Case], *, now: datetime) -> None:
    """`send_recorded` for a batch of cases, in one write to the outbox."""
    codes = areas_service.district_code_by_id(session)
    outbox.enqueue_many(
        session,
        messages=[
            outbox.Message(
                topic=RECORDED,
                payload={
                    "case_id": case.id,
                    "classification": case.classification,
                    "report_district": codes[case.report_district_id],
                    "residence_district": codes[case.residence_district_id],
                    "report_day": case.report_day,
                    "found_under_control": case.found_under_control,
                    "actor": case.created_by,
                },
                audience_district_ids=[case.report_district_id, case.residence_district_id, None],
                idempotency_key=f"case:{case.id}:recorded",
            )
            for case in cases
        ],
        now=now,
    )


def send_linked(session: Session, link: TransmissionLink, *, now: datetime) -> None:
    """Tell both cases' districts and the command centre that a chain grew (or crossed)."""
    codes = areas_service.district_code_by_id(session)
    outbox.enqueue(
        session,
        topic=LINKED,
        payload={
            "link_id": link.id,
            "source_case_id": link.source_case_id,
            "target_case_id": link.target_case_id,
            "from_district": codes[link.from_district_id],
            "to_district": codes[link.to_district_id],
            "spillover": link.spillover,
            "actor": link.created_by,
        },
        audience_district_ids=[link.from_district_id, link.to_district_id, None],
        idempotency_key=f"case_link:{link.id}:linked",
        now=now,
    )
