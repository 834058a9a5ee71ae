"""The work results leave for the districts, as they read it (part of the screening service):
resample tasks for invalid tubes, retest tasks for the persons of positive pools; and the one way
such work (conflicts too) is narrowed to a status and to the caller's district."""

from __future__ import annotations

from typing import Any, TypeVar, TypeVarTuple

from sqlalchemy import Row, Select, func, select
from sqlalchemy.orm import Session

from xietong.areas import service as areas_service
from xietong.core.errors import PermissionDenied
from xietong.core.principal import Permission, Principal, Role
from xietong.people import service as people_service
from xietong.screening.models import ResampleTask, ResultConflict, RetestTask, Site, Tube
from xietong.screening.schemas import ResampleTaskRead, RetestTaskRead

Ts = TypeVarTuple("Ts")
_Work = TypeVar("_Work", ResampleTask, RetestTask, ResultConflict)


def of_status_in_district(
    query: Select[*Ts], model: type[_Work], *, status: str | None, principal: Principal
) -> Select[*Ts]:
    """`query` narrowed to one status (all when None) and to a district user's own district."""
    if status is not None:
        query = query.where(model.status == status)
    if principal.district_id is not None:
        query = query.where(model.district_id == principal.district_id)
    return query


def _page(
    session: Session, query: Select[*Ts], order_by: Any, *, limit: int, offset: int
) -> tuple[list[Row[*Ts]], int]:
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(order_by).limit(limit).offset(offset)).all()
    return list(rows), total


def list_resample_tasks(
    session: Session,
    *,
    principal: Principal,
    status: str | None = "open",
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[ResampleTaskRead], int]:
    """Invalid tubes whose members must be swabbed again, in the caller's jurisdiction."""
    if principal.role is Role.viewer:
        raise PermissionDenied("a viewer does not see sampling tasks")
    query = (
        select(ResampleTask, Tube.code, Site.code)
        .join(Tube, Tube.id == ResampleTask.tube_id)
        .join(Site, Site.id == ResampleTask.site_id)
    )
    query = of_status_in_district(query, ResampleTask, status=status, principal=principal)
    rows, total = _page(session, query, ResampleTask.id, limit=limit, offset=offset)
    codes = areas_service.district_code_by_id(session)
    replacement = {}
    wanted = [t.replacement_tube_id for t, _, _ in rows if t.replacement_tube_id]
    if wanted:
        replacement = dict(
            session.execute(select(Tube.id, Tube.code).where(Tube.id.in_(wanted))).all()
        )
    return [
        ResampleTaskRead(
            id=task.id,
            tube_code=tube_code,
            district_code=codes[task.district_id],
            site_code=site_code,
            member_count=task.member_count,
            status=task.status,
            replacement_tube_code=replacement.get(task.replacement_tube_id or -1),
            created_at=task.created_at,
        )
        for task, tube_code, site_code in rows
    ], total


def list_retest_tasks(
    session: Session,
    *,
    principal: Principal,
    status: str | None = "open",
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[RetestTaskRead], int]:
    """Single-tube retests due in the caller's district (where the person is now); audited."""
    principal.require(Permission.read_persons)
    query = select(RetestTask, Tube.code).join(Tube, Tube.id == RetestTask.source_tube_id)
    query = of_status_in_district(query, RetestTask, status=status, principal=principal)
    rows, total = _page(session, query, RetestTask.id, limit=limit, offset=offset)
    people_service.audit_persons(
        session,
        principal=principal,
        action="list",
        ids=[task.person_id for task, _ in rows],
        reason="retest tasks",
    )
    codes = areas_service.district_code_by_id(session)
    return [
        RetestTaskRead(
            id=task.id,
            person_id=task.person_id,
            district_code=codes[task.district_id],
            source_tube_code=code,
            status=task.status,
            outcome=task.outcome,
            created_at=task.created_at,
        )
        for task, code in rows
    ], total
