"""Deliveries of results as their senders see them: the batches with their counts, and the
rejected rows of a delivery loaded without them, kept for the laboratory to download and fix.

A laboratory sees the deliveries it sent; the command centre sees all of them.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xietong.core.errors import NotFound, PermissionDenied
from xietong.core.principal import Permission, Principal, Role
from xietong.screening.models import ResultBatch, ResultBatchRejects
from xietong.screening.schemas import ResultBatchRead


def _scoped(principal: Principal) -> str | None:
    """None for the command centre (every delivery), else the sender's own name."""
    if not principal.can(Permission.submit_lab_results):
        raise PermissionDenied(f"role {principal.role} does not send laboratory results")
    return None if principal.role is Role.command else principal.username


def _read(batch: ResultBatch, kept: bool) -> ResultBatchRead:
    return ResultBatchRead(
        id=batch.id,
        source=batch.source,
        submitted_by=batch.submitted_by,
        received_at=batch.received_at,
        rows_read=batch.rows_read,
        applied=batch.applied,
        unchanged=batch.unchanged,
        conflicts=batch.conflicts,
        rejected=batch.rejected,
        rejects_kept=kept,
    )


def list_batches(
    session: Session, *, principal: Principal, limit: int = 20, offset: int = 0
) -> tuple[list[ResultBatchRead], int]:
    """The deliveries the principal may see, newest first."""
    sender = _scoped(principal)
    query = select(ResultBatch)
    if sender is not None:
        query = query.where(ResultBatch.submitted_by == sender)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    batches = list(
        session.scalars(query.order_by(ResultBatch.id.desc()).limit(limit).offset(offset))
    )
    kept = set(
        session.scalars(
            select(ResultBatchRejects.batch_id).where(
                ResultBatchRejects.batch_id.in_([b.id for b in batches])
            )
        )
    )
    return [_read(b, b.id in kept) for b in batches], total


def _visible(session: Session, principal: Principal, batch_id: int) -> ResultBatch:
    sender = _scoped(principal)
    batch = session.get(ResultBatch, batch_id)
    if batch is None or (sender is not None and batch.submitted_by != sender):
        raise NotFound(f"no delivery {batch_id}", code="batch_not_found")
    return batch


def get_batch(session: Session, *, principal: Principal, batch_id: int) -> ResultBatchRead:
    batch = _visible(session, principal, batch_id)
    return _read(batch, session.get(ResultBatchRejects, batch_id) is not None)


def keep_rejects(
    session: Session, *, principal: Principal, batch_id: int, content: str, rows: int
) -> None:
    """Keep the rejected rows of a delivery (the rejects file's text) with the delivery."""
    _visible(session, principal, batch_id)
    session.merge(ResultBatchRejects(batch_id=batch_id, rows=rows, content=content))
    session.flush()


def rejects_of(session: Session, *, principal: Principal, batch_id: int) -> str:
    """The rejected rows of a delivery as CSV text (line, the row as sent, the reasons)."""
    _visible(session, principal, batch_id)
    kept = session.get(ResultBatchRejects, batch_id)
    if kept is None:
        raise NotFound(f"delivery {batch_id} kept no rejected rows", code="no_rejects")
    return kept.content
