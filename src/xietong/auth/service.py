"""Users, tokens and the audit trail. Every read and change of a person record goes through
`record_audit` in the same transaction as the read or the change."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from xietong.areas import service as areas_service
from xietong.auth.models import ApiToken, AuditEntry, User
from xietong.auth.passwords import hash_password, verify_password
from xietong.auth.schemas import UserCreate, UserRead
from xietong.core.errors import Conflict, DomainError, NotAuthenticated
from xietong.core.principal import Principal, Role
from xietong.storage.unit_of_work import clock_of

TOKEN_PREFIX = "xt_"  # noqa: S105 (a prefix, not a secret)


def _hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def create_user(
    session: Session,
    *,
    user_in: UserCreate,
    now: datetime,
    password_hash: str | None = None,
) -> User:
    """Create a user with a role and a jurisdiction (the city, or one district).

    `password_hash` (from `passwords.hash_password`) stands in for `user_in.password` when many
    users get one published password (the demo), so that it is hashed once, not once per user.
    """
    if session.scalar(select(User.id).where(User.username == user_in.username)) is not None:
        raise Conflict(f"user {user_in.username!r} exists", code="user_exists")
    district_id = None
    if user_in.district_code:
        district_id = areas_service.get_district(session, code=user_in.district_code).id
    elif user_in.role is Role.district_coordinator:
        raise DomainError("a district coordinator needs a district", code="district_required")
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
    )
    session.add(user)
    session.flush()
    return user


def user_read(session: Session, user: User) -> UserRead:
    code = None
    if user.district_id is not None:
        code = areas_service.district_code_by_id(session)[user.district_id]
    return UserRead(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=Role(user.role),
        district_code=code,
    )


def get_user(session: Session, *, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def issue_token(
    session: Session, *, user: User, name: str = "default", expires_at: datetime | None = None
) -> str:
    """Issue an API token; the plain token is returned once and only its hash is kept."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            user_id=user.id,
            name=name,
            token_hash=_hash_token(token),
            prefix=token[:10],
            created_at=clock_of(session).now(),
            expires_at=expires_at,
        )
    )
    session.flush()
    return token


def principal_of(user: User) -> Principal:
    return Principal(
        user_id=user.id, username=user.username, role=Role(user.role), district_id=user.district_id
    )


def authenticate_token(session: Session, *, token: str) -> Principal:
    """The principal behind a bearer token, or NotAuthenticated."""
    row = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == _hash_token(token))
    ).first()
    if row is None:
        raise NotAuthenticated("unknown token", code="invalid_token")
    api_token, user = row
    now = clock_of(session).now()
    if api_token.revoked_at is not None or not user.active:
        raise NotAuthenticated("token revoked", code="invalid_token")
    if api_token.expires_at is not None and api_token.expires_at <= now:
        raise NotAuthenticated("token expired", code="invalid_token")
    return principal_of(user)


def authenticate_password(session: Session, *, username: str, password: str) -> Principal:
    user = get_user(session, username=username)
    if (
        user is None
        or not user.active
        or user.password_hash is None
        or not verify_password(password, user.password_hash)
    ):
        raise NotAuthenticated("wrong user name or password", code="invalid_credentials")
    return principal_of(user)


def revoke_token(session: Session, *, token: str) -> None:
    api_token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash_token(token)))
    if api_token is not None:
        api_token.revoked_at = clock_of(session).now()
        session.flush()


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
    if not entity_ids:
        return
    now = clock_of(session).now()
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
            for entity_id in entity_ids
        ],
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
