"""Differing second results of a tube (part of the screening service): listed for the people who
handle laboratory results, and resolved by keeping one — never by overwriting silently.

Keeping the reported result replaces the result of record and sets off its effects; what the
replaced one set off is undone where nobody has acted on it yet, and counted where someone has.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from xietong.areas import service as areas_service
from xietong.auth import service as auth_service
from xietong.core.errors import Conflict, NotFound, PermissionDenied
from xietong.core.principal import Principal, Role
from xietong.screening.models import (
    CaseCandidate,
    Hold,
    LabResult,
    ReferralNeed,
    ResampleTask,
    ResultConflict,
    RetestTask,
    Tube,
)
from xietong.screening.results import effects
from xietong.screening.results.follow_ups import of_status_in_district
from xietong.screening.schemas import (
    ConflictRead,
    ConflictResolution,
    ConflictResolve,
    ResultBatchReport,
    ResultView,
)
from xietong.storage.bulk_sql import rowcount

# Roles that handle laboratory results and their conflicts (a district only its own).
RESULT_HANDLERS = frozenset({Role.command, Role.lab, Role.district_coordinator})


def _in_scope(principal: Principal, district_id: int) -> bool:
    return principal.district_id is None or principal.district_id == district_id


def view(row: LabResult | ResultConflict) -> ResultView:
    """A result as the API shows it."""
    return ResultView(
        outcome=row.outcome,
        ct_value=row.ct_value,
        lab=row.lab_code,
        reported_at=row.reported_at,
    )


def _handles_results(principal: Principal) -> None:
    if principal.role not in RESULT_HANDLERS:
        raise PermissionDenied(f"role {principal.role} does not handle laboratory results")


def _conflict_read(session: Session, conflict: ResultConflict) -> ConflictRead:
    tube = session.get(Tube, conflict.tube_id)
    current = session.scalar(select(LabResult).where(LabResult.tube_id == conflict.tube_id))
    assert tube is not None and current is not None
    return ConflictRead(
        id=conflict.id,
        tube_code=tube.code,
        district_code=areas_service.district_code_by_id(session)[conflict.district_id],
        current=view(current),
        reported=view(conflict),
        status=conflict.status,
        created_at=conflict.created_at,
        resolved_by=conflict.resolved_by,
        resolved_at=conflict.resolved_at,
        note=conflict.note,
    )


def list_conflicts(
    session: Session,
    *,
    principal: Principal,
    status: str | None = "open",
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[ConflictRead], int]:
    """Differing second results waiting for a person (a district: its own sampling)."""
    _handles_results(principal)
    query = of_status_in_district(
        select(ResultConflict), ResultConflict, status=status, principal=principal
    )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(ResultConflict.id).limit(limit).offset(offset))
    return [_conflict_read(session, c) for c in rows], total


def resolve_conflict(
    session: Session,
    *,
    principal: Principal,
    conflict_id: int,
    decision: ConflictResolve,
    now: datetime,
) -> ConflictResolution:
    """Keep the result of record, or replace it by the conflicting one and set off its effects.

    Replacing undoes what the old result set off where nobody has acted on it yet: holds end,
    open retest and resample tasks are cancelled, pending case candidates and referral needs
    are withdrawn; those already consumed are counted for a person to follow up.
    """
    _handles_results(principal)
    conflict = session.get(ResultConflict, conflict_id)
    if conflict is None or not _in_scope(principal, conflict.district_id):
        raise NotFound(f"no conflict {conflict_id}", code="conflict_not_found")
    if conflict.status != "open":
        raise Conflict("the conflict is resolved already", code="conflict_resolved")
    current = session.scalar(select(LabResult).where(LabResult.tube_id == conflict.tube_id))
    assert current is not None
    before = view(current).model_dump(mode="json")
    resolution = ConflictResolution(conflict=_conflict_read(session, conflict))
    if decision.keep == "reported":
        changed = current.outcome != conflict.outcome
        if changed:
            _undo_effects(
                session,
                tube_id=conflict.tube_id,
                outcome=current.outcome,
                now=now,
                resolution=resolution,
            )
        current.outcome, current.ct_value = conflict.outcome, conflict.ct_value
        current.lab_code, current.reported_at = conflict.lab_code, conflict.reported_at
        current.updated_at = now
        session.flush()
        if changed:
            report = ResultBatchReport(
                batch_id=conflict.batch_id,
                rows_read=0,
                applied=1,
                unchanged=0,
                conflicts=0,
                rows_rejected=0,
            )
            effects.apply(
                session, tubes=[(conflict.tube_id, conflict.outcome)], now=now, report=report
            )
            resolution.effects = report
    conflict.status = "replaced" if decision.keep == "reported" else "kept"
    conflict.resolved_by, conflict.resolved_at = principal.username, now
    conflict.note, conflict.updated_at = decision.note, now
    session.flush()
    auth_service.record_audit(
        session,
        principal=principal,
        action="resolve",
        entity="screening_result_conflict",
        entity_ids=[conflict.id],
        reason=decision.note,
        detail={"keep": decision.keep, "result_before": before},
    )
    resolution.conflict = _conflict_read(session, conflict)
    return resolution


def _undo_effects(
    session: Session,
    *,
    tube_id: int,
    outcome: str,
    now: datetime,
    resolution: ConflictResolution,
) -> None:
    if outcome == "invalid":
        resolution.tasks_cancelled += rowcount(
            session.execute(
                update(ResampleTask)
                .where(ResampleTask.tube_id == tube_id, ResampleTask.status == "open")
                .values(status="cancelled", updated_at=now)
            )
        )
        return
    if outcome != "positive":
        return
    resolution.holds_released += rowcount(
        session.execute(
            update(Hold)
            .where(Hold.tube_id == tube_id, Hold.released_at.is_(None))
            .values(released_at=now, release_reason="result_corrected", updated_at=now)
        )
    )
    resolution.tasks_cancelled += rowcount(
        session.execute(
            update(RetestTask)
            .where(RetestTask.source_tube_id == tube_id, RetestTask.status == "open")
            .values(status="cancelled", updated_at=now)
        )
    )
    for model, acted in (
        (CaseCandidate, CaseCandidate.consumed_at),
        (ReferralNeed, ReferralNeed.opened_at),
    ):
        resolution.withdrawn += rowcount(
            session.execute(
                update(model)
                .where(model.tube_id == tube_id, acted.is_(None), model.withdrawn_at.is_(None))
                .values(withdrawn_at=now)
            )
        )
        resolution.already_acted_on += (
            session.scalar(
                select(func.count())
                .select_from(model)
                .where(model.tube_id == tube_id, acted.is_not(None))
            )
            or 0
        )
