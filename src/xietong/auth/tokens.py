"""API tokens and dashboard sessions: issued with an expiry, stored as a SHA-256 hash, listed,
revoked one by one or all of a user's at once. A dashboard session is a token named `dashboard`."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from xietong.auth.models import ApiToken, User
from xietong.core.errors import NotAuthenticated, NotFound, PermissionDenied
from xietong.core.principal import Permission, Principal, Role
from xietong.storage.unit_of_work import clock_of

TOKEN_PREFIX = "xt_"  # noqa: S105 (a prefix, not a secret)
# An API token lives this long unless the caller asks for less (the settings may change it).
DEFAULT_TOKEN_DAYS = 90


def csrf_token(session_token: str) -> str:
    """A per-session token for forms and cookie-authenticated API calls, derived from the session
    so that nothing more is stored."""
    return hashlib.sha256(b"xietong-csrf:" + session_token.encode()).hexdigest()[:32]


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def principal_of(user: User, *, token_id: int | None = None) -> Principal:
    return Principal(
        user_id=user.id,
        username=user.username,
        role=Role(user.role),
        district_id=user.district_id,
        token_id=token_id,
    )


def issue_token(
    session: Session,
    *,
    user: User,
    name: str = "default",
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> str:
    """Issue a token expiring at `expires_at` (default: in 90 days); the plain token is returned
    once and only its hash is kept."""
    now = now or clock_of(session).now()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            user_id=user.id,
            name=name,
            token_hash=hash_token(token),
            prefix=token[:10],
            created_at=now,
            expires_at=expires_at or now + timedelta(days=DEFAULT_TOKEN_DAYS),
        )
    )
    session.flush()
    return token


def authenticate_token(session: Session, *, token: str, now: datetime | None = None) -> Principal:
    """The principal behind a live token, or NotAuthenticated (unknown, expired, revoked, or its
    user deactivated: the same answer for all)."""
    row = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == hash_token(token))
    ).first()
    now = now or clock_of(session).now()
    if (
        row is None
        or row[0].revoked_at is not None
        or not row[1].active
        or (row[0].expires_at is not None and row[0].expires_at <= now)
    ):
        raise NotAuthenticated("the token is not valid", code="invalid_token")
    api_token, user = row
    return principal_of(user, token_id=api_token.id)


def list_tokens(
    session: Session, *, user_id: int, include_ended: bool = False, now: datetime | None = None
) -> list[ApiToken]:
    """A user's tokens and sessions, newest first (by default only those still live)."""
    query = select(ApiToken).where(ApiToken.user_id == user_id)
    if not include_ended:
        now = now or clock_of(session).now()
        query = query.where(ApiToken.revoked_at.is_(None), ApiToken.expires_at > now)
    return list(session.scalars(query.order_by(ApiToken.id.desc())))


def revoke_token_by_id(
    session: Session, *, principal: Principal, token_id: int, now: datetime | None = None
) -> ApiToken:
    """Revoke one token: its owner's, or anyone's for a user manager."""
    api_token = session.get(ApiToken, token_id)
    if api_token is None or (
        api_token.user_id != principal.user_id and not principal.can(Permission.manage_users)
    ):
        # Someone else's token answers like one that does not exist.
        raise NotFound(f"no token {token_id}", code="token_not_found")
    if api_token.revoked_at is None:
        api_token.revoked_at = now or clock_of(session).now()
        session.flush()
    return api_token


def revoke_token(session: Session, *, token: str, now: datetime | None = None) -> None:
    """Revoke the token given in plain (a dashboard logging out)."""
    session.execute(
        update(ApiToken)
        .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
        .values(revoked_at=now or clock_of(session).now())
    )


def revoke_all(
    session: Session, *, user_id: int, now: datetime, keep_token_id: int | None = None
) -> int:
    """Revoke every live token and session of a user (but `keep_token_id`); return how many."""
    query = update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
    if keep_token_id is not None:
        query = query.where(ApiToken.id != keep_token_id)
    result = session.execute(query.values(revoked_at=now))
    return int(getattr(result, "rowcount", 0) or 0)


def require_own_or_manager(principal: Principal, user: User) -> None:
    if user.id != principal.user_id and not principal.can(Permission.manage_users):
        raise PermissionDenied(f"role {principal.role} may not manage other users")
