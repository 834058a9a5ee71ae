"""Users, their passwords and the audit trail. Every read and change of a person record goes
through `record_audit` in the same transaction as the read or the change; tokens and sessions are
in `auth.tokens`."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from xietong.auth import tokens
from xietong.auth.models import AuditEntry, User
from xietong.auth.passwords import check_policy, hash_password, needs_rehash, verify_password
from xietong.auth.schemas import UserCreate, UserRead
from xietong.auth.tokens import (
    authenticate_token,
    issue_token,
    principal_of,
    revoke_token,
)
from xietong.core.errors import Conflict, DomainError, NotAuthenticated, NotFound
from xietong.core.principal import Principal, Role
from xietong.storage.bulk import bulk_insert
from xietong.storage.bulk_sql import table_of
from xietong.storage.unit_of_work import clock_of

__all__ = [
    "authenticate_password",
    "authenticate_token",
    "change_password",
    "create_user",
    "deactivate_user",
    "get_user",
    "issue_token",
    "list_audit",
    "list_users",
    "principal_of",
    "reactivate_user",
    "record_audit",
    "require_user",
    "reset_password",
    "revoke_token",
    "revoke_tokens",
    "user_read",
]


def create_user(
    session: Session,
    *,
    user_in: UserCreate,
    district_id: int | None,
    now: datetime,
    password_hash: str | None = None,
    production: bool = False,
) -> User:
    """Create a user with a role and a jurisdiction (the city, or one district).

    `district_id` is the district `user_in.district_code` names, resolved by the caller through
    areas (auth, which every domain calls, reads no other domain).

    `password_hash` (from `passwords.hash_password`) stands in for `user_in.password` when many
    users get one published password (the demo), so that it is hashed once, not once per user.
    """
    if session.scalar(select(User.id).where(User.username == user_in.username)) is not None:
        raise Conflict(f"user {user_in.username!r} exists", code="user_exists")
    if user_in.district_code and district_id is None:
        raise DomainError(
            f"district {user_in.district_code!r} was not resolved", code="district_not_found"
        )
    if district_id is None and user_in.role is Role.district_coordinator:
        raise DomainError("a district coordinator needs a district", code="district_required")
    if user_in.password is not None:
        check_policy(user_in.password, username=user_in.username, production=production)
    user = User(
        username=user_in.username,
        display_name=user_in.display_name or user_in.username,
        role=user_in.role.value,
        district_id=district_id,
        password_hash=(
            password_hash or (hash_password(user_in.password) if user_in.password else None)
        ),
        active=True,
        created_at=now,
        password_changed_at=now if (password_hash or user_in.password) else None,
    )
    session.add(user)
    session.flush()
    return user


def user_read(user: User, *, district_codes: Mapping[int, str]) -> UserRead:
    """A user as shown, its district named by code (`district_codes`: id → code)."""
    code = None if user.district_id is None else district_codes[user.district_id]
    return UserRead(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=Role(user.role),
        district_code=code,
        active=user.active,
        created_at=user.created_at,
        deactivated_at=user.deactivated_at,
        password_changed_at=user.password_changed_at,
    )


def get_user(session: Session, *, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def principal_named(session: Session, *, username: str) -> Principal:
    """The active user called `username` as a principal (a client certificate names its user
    this way), or NotAuthenticated: an unknown name and an inactive account read alike."""
    user = get_user(session, username=username)
    if user is None or not user.active:
        raise NotAuthenticated(f"no active user {username!r}", code="unknown_user")
    return principal_of(user)


def require_user(session: Session, *, username: str) -> User:
    """The user called `username`, or NotFound."""
    user = get_user(session, username=username)
    if user is None:
        raise NotFound(f"no user {username!r}", code="user_not_found")
    return user


def list_users(
    session: Session,
    *,
    district_id: int | None = None,
    active: bool | None = None,
    role: Role | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[User], int]:
    """Users by name, optionally of one district, one role or only (in)active ones, and their
    total."""
    query = select(User)
    if district_id is not None:
        query = query.where(User.district_id == district_id)
    if role is not None:
        query = query.where(User.role == role.value)
    if active is not None:
        query = query.where(User.active.is_(active))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(User.username).limit(limit).offset(offset)).all()
    return list(rows), total


def authenticate_password(session: Session, *, username: str, password: str) -> Principal:
    """The user behind a name and password, or NotAuthenticated; an older hash is replaced by
    one with today's parameters. An unknown name costs the same work as a known one."""
    user = get_user(session, username=username)
    stored = user.password_hash if user is not None else None
    if not verify_password(password, stored) or user is None or not user.active:
        raise NotAuthenticated("wrong user name or password", code="invalid_credentials")
    assert stored is not None
    if needs_rehash(stored):
        user.password_hash = hash_password(password)
        session.flush()
    return principal_of(user)


def change_password(
    session: Session,
    *,
    principal: Principal,
    current_password: str,
    new_password: str,
    now: datetime,
    production: bool,
) -> User:
    """Change one's own password; every other token and session of the user ends."""
    user = require_user(session, username=principal.username)
    if not verify_password(current_password, user.password_hash):
        raise NotAuthenticated("the current password is wrong", code="invalid_credentials")
    check_policy(new_password, username=user.username, production=production)
    user.password_hash = hash_password(new_password)
    user.password_changed_at = now
    tokens.revoke_all(session, user_id=user.id, now=now, keep_token_id=principal.token_id)
    session.flush()
    return user


def reset_password(session: Session, *, username: str, now: datetime) -> tuple[User, str]:
    """Give a user a new random password (shown once) and end all its tokens and sessions."""
    user = require_user(session, username=username)
    password = secrets.token_urlsafe(15)
    user.password_hash = hash_password(password)
    user.password_changed_at = now
    tokens.revoke_all(session, user_id=user.id, now=now)
    session.flush()
    return user, password


def revoke_tokens(
    session: Session, *, principal: Principal, username: str, now: datetime
) -> tuple[User, int]:
    """End every token and dashboard session of a user, who may log in again; the caller's own
    session stays when it revokes its own. Returns the user and how many ended."""
    user = require_user(session, username=username)
    keep = principal.token_id if user.id == principal.user_id else None
    ended = tokens.revoke_all(session, user_id=user.id, now=now, keep_token_id=keep)
    session.flush()
    return user, ended


def deactivate_user(session: Session, *, username: str, now: datetime) -> User:
    """Shut a user out: it can no longer log in, and every token, session and stream ends."""
    user = require_user(session, username=username)
    user.active = False
    user.deactivated_at = now
    tokens.revoke_all(session, user_id=user.id, now=now)
    session.flush()
    return user


def reactivate_user(session: Session, *, username: str) -> User:
    """Let a deactivated user log in again (its old tokens stay revoked)."""
    user = require_user(session, username=username)
    user.active = True
    user.deactivated_at = None
    session.flush()
    return user


def record_audit(
    session: Session,
    *,
    principal: Principal,
    action: str,
    entity: str,
    entity_ids: Sequence[int | str],
    reason: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Write one audit row per record touched, in the caller's transaction."""
    record_audit_rows(
        session,
        principal=principal,
        action=action,
        entity=entity,
        rows=[(entity_id, detail) for entity_id in entity_ids],
        reason=reason,
    )


def record_audit_rows(
    session: Session,
    *,
    principal: Principal,
    action: str,
    entity: str,
    rows: Sequence[tuple[int | str, dict[str, Any] | None]],
    reason: str | None = None,
) -> None:
    """`record_audit` for records each with its own detail: (entity id, detail) per row.

    Rows without a detail (a list's audit: hundreds of rows on a page) are written with the
    bulk loader, COPY on PostgreSQL, where a list of parameter sets is an INSERT per row in the
    driver's pipeline (about ten times the processor time and four times the time for 500
    rows); rows with details are written as such a list.
    """
    if not rows:
        return
    now = clock_of(session).now()
    if all(detail is None for _, detail in rows):
        bulk_insert(
            session,
            table_of(AuditEntry),
            _AUDIT_COLUMNS,
            (
                (
                    now,
                    principal.user_id,
                    principal.username,
                    principal.district_id,
                    action,
                    entity,
                    str(entity_id),
                    reason,
                )
                for entity_id, _ in rows
            ),
        )
        return
    session.execute(
        insert(AuditEntry),
        [
            {
                "at": now,
                "user_id": principal.user_id,
                "username": principal.username,
                "district_id": principal.district_id,
                "action": action,
                "entity": entity,
                "entity_id": str(entity_id),
                "reason": reason,
                "detail": detail,
            }
            for entity_id, detail in rows
        ],
    )


_AUDIT_COLUMNS = (
    "at",
    "user_id",
    "username",
    "district_id",
    "action",
    "entity",
    "entity_id",
    "reason",
)


def list_audit(
    session: Session,
    *,
    entity: str | None = None,
    entity_id: str | None = None,
    district_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[AuditEntry], int]:
    query = select(AuditEntry)
    if entity is not None:
        query = query.where(AuditEntry.entity == entity)
    if entity_id is not None:
        query = query.where(AuditEntry.entity_id == entity_id)
    if district_id is not None:
        # A district sees what its own users did, not the rest of the city's trail.
        query = query.where(AuditEntry.district_id == district_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit).offset(offset)).all()
    return list(rows), total
