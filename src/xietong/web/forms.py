"""Form keys and seen marks: a rendered form carries a fresh key and its first submission
claims it, so a double click or a resent form acts once; a seen mark records when a user last
opened a record, so that what changed since shows as unread."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from xietong.web.models import FormSubmission, SeenMark

FORM_KEY_FIELD = "form_key"


def new_form_key() -> str:
    return secrets.token_urlsafe(18)


def claim(session: Session, *, key: str, username: str, now: datetime) -> bool:
    """Claim a form's key; False when a submission of the same form got there first."""
    if not key or len(key) > 64:
        return True
    try:
        with session.begin_nested():
            session.add(FormSubmission(key=key, username=username, submitted_at=now))
            session.flush()
    except IntegrityError:
        return False
    return True


def mark_seen(
    session: Session,
    *,
    username: str,
    entity: str,
    entity_id: int,
    status: str | None,
    now: datetime,
) -> None:
    """Record that the user has just seen the record in `status`."""
    mark = session.get(SeenMark, (username, entity, entity_id))
    if mark is None:
        session.add(
            SeenMark(
                username=username, entity=entity, entity_id=entity_id, seen_at=now, status=status
            )
        )
    else:
        mark.seen_at, mark.status = now, status
    session.flush()


def seen_status(
    session: Session, *, username: str, entity: str, entity_ids: list[int]
) -> dict[int, str | None]:
    """The state each record was in when the user last opened it (absent: never opened)."""
    if not entity_ids:
        return {}
    rows = session.execute(
        select(SeenMark.entity_id, SeenMark.status).where(
            SeenMark.username == username,
            SeenMark.entity == entity,
            SeenMark.entity_id.in_(entity_ids),
        )
    )
    return {int(entity_id): status for entity_id, status in rows}
