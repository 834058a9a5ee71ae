"""Routes of users, their tokens and passwords, and the audit trail."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from xietong.api.deps import NowDep, PageDep, PrincipalDep, SessionDep, SettingsDep, requires
from xietong.areas import service as areas_service
from xietong.auth import service, tokens
from xietong.auth.models import User
from xietong.auth.schemas import (
    AuditRead,
    IssuedToken,
    NewToken,
    PasswordChange,
    PasswordReset,
    TokenCreate,
    TokenRead,
    TokensRevoked,
    UserCreate,
    UserRead,
)
from xietong.core.pagination import Page
from xietong.core.principal import Permission, Principal

router = APIRouter(prefix="/api/auth", tags=["auth"])

Username = Annotated[str, Path(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
_MANAGE = [requires(Permission.manage_users)]


def _user_read(session: SessionDep, user: User) -> UserRead:
    return service.user_read(user, district_codes=areas_service.district_code_by_id(session))


def _audit_user(session: SessionDep, principal: Principal, action: str, username: str) -> None:
    service.record_audit(
        session, principal=principal, action=action, entity="user", entity_ids=[username]
    )


@router.get("/me", summary="Who am I: role and jurisdiction")
def me(session: SessionDep, principal: PrincipalDep) -> UserRead:
    return _user_read(session, service.require_user(session, username=principal.username))


@router.post(
    "/me/password",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Change your password; your other tokens and sessions end",
)
def change_password(
    change: PasswordChange,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    now: NowDep,
) -> Response:
    service.change_password(
        session,
        principal=principal,
        current_password=change.current_password,
        new_password=change.new_password,
        now=now,
        production=settings.environment == "production",
    )
    _audit_user(session, principal, "change_password", principal.username)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/tokens", summary="Your tokens and dashboard sessions, newest first")
def my_tokens(
    session: SessionDep, principal: PrincipalDep, include_ended: bool = False
) -> list[TokenRead]:
    rows = tokens.list_tokens(session, user_id=principal.user_id, include_ended=include_ended)
    return [TokenRead.model_validate(row) for row in rows]


@router.post(
    "/tokens", status_code=status.HTTP_201_CREATED, summary="Issue yourself a new API token"
)
def issue_token(
    token_in: TokenCreate,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    now: NowDep,
) -> NewToken:
    user = service.require_user(session, username=principal.username)
    days = min(token_in.days or settings.token_days, settings.token_days)
    token = tokens.issue_token(
        session, user=user, name=token_in.name, expires_at=now + timedelta(days=days), now=now
    )
    issued = tokens.list_tokens(session, user_id=user.id, now=now)[0]
    return NewToken(token=token, detail=TokenRead.model_validate(issued))


@router.delete(
    "/tokens/{token_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke a token or session (yours; any, for the command centre)",
)
def revoke_token(
    token_id: Annotated[int, Path(ge=1, le=2**31)],
    session: SessionDep,
    principal: PrincipalDep,
    now: NowDep,
) -> Response:
    tokens.revoke_token_by_id(session, principal=principal, token_id=token_id, now=now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/users", summary="Users by name (command centre only)", dependencies=_MANAGE)
def list_users(paging: PageDep, session: SessionDep, active: bool | None = None) -> Page[UserRead]:
    rows, total = service.list_users(
        session, active=active, limit=paging.limit, offset=paging.offset
    )
    return Page.of([_user_read(session, u) for u in rows], total=total, params=paging)


@router.post(
    "/users",
    status_code=status.HTTP_201_CREATED,
    summary="Create a user and issue its first token (command centre only)",
    dependencies=_MANAGE,
)
def create_user(
    user_in: UserCreate,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    now: NowDep,
) -> IssuedToken:
    user = service.create_user(
        session,
        user_in=user_in,
        district_id=areas_service.district_id_of(session, code=user_in.district_code),
        now=now,
        production=settings.environment == "production",
    )
    token = tokens.issue_token(
        session, user=user, now=now, expires_at=now + timedelta(days=settings.token_days)
    )
    _audit_user(session, principal, "create", user.username)
    return IssuedToken(user=_user_read(session, user), token=token)


@router.get("/users/{username}", summary="One user (command centre only)", dependencies=_MANAGE)
def get_user(username: Username, session: SessionDep) -> UserRead:
    return _user_read(session, service.require_user(session, username=username))


@router.get(
    "/users/{username}/tokens",
    summary="A user's tokens and sessions (command centre only)",
    dependencies=_MANAGE,
)
def user_tokens(
    username: Username, session: SessionDep, include_ended: bool = False
) -> list[TokenRead]:
    user = service.require_user(session, username=username)
    rows = tokens.list_tokens(session, user_id=user.id, include_ended=include_ended)
    return [TokenRead.model_validate(row) for row in rows]


@router.post(
    "/users/{username}/revoke-tokens",
    summary="End every token and session of a user, who may log in again (command centre only)",
    dependencies=_MANAGE,
)
def revoke_user_tokens(
    username: Username, session: SessionDep, principal: PrincipalDep, now: NowDep
) -> TokensRevoked:
    user, ended = service.revoke_tokens(session, principal=principal, username=username, now=now)
    _audit_user(session, principal, "revoke_tokens", username)
    return TokensRevoked(user=_user_read(session, user), revoked=ended)


@router.post(
    "/users/{username}/deactivate",
    summary="Shut a user out: its tokens, sessions and streams end (command centre only)",
    dependencies=_MANAGE,
)
def deactivate_user(
    username: Username, session: SessionDep, principal: PrincipalDep, now: NowDep
) -> UserRead:
    user = service.deactivate_user(session, username=username, now=now)
    _audit_user(session, principal, "deactivate", username)
    return _user_read(session, user)


@router.post(
    "/users/{username}/reactivate",
    summary="Let a deactivated user log in again (command centre only)",
    dependencies=_MANAGE,
)
def reactivate_user(username: Username, session: SessionDep, principal: PrincipalDep) -> UserRead:
    user = service.reactivate_user(session, username=username)
    _audit_user(session, principal, "reactivate", username)
    return _user_read(session, user)


@router.post(
    "/users/{username}/password-reset",
    summary="Give a user a new random password, shown once; its sessions end (command centre)",
    dependencies=_MANAGE,
)
def reset_password(
    username: Username, session: SessionDep, principal: PrincipalDep, now: NowDep
) -> PasswordReset:
    user, password = service.reset_password(session, username=username, now=now)
    _audit_user(session, principal, "reset_password", username)
    return PasswordReset(user=_user_read(session, user), password=password)


@router.get(
    "/audit",
    summary="The audit trail, newest first",
    dependencies=[requires(Permission.read_audit)],
)
def audit(
    paging: PageDep,
    session: SessionDep,
    principal: PrincipalDep,
    entity: Annotated[str | None, Query(max_length=32)] = None,
    entity_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[AuditRead]:
    rows, total = service.list_audit(
        session,
        entity=entity,
        entity_id=entity_id,
        district_id=principal.district_id,
        limit=paging.limit,
        offset=paging.offset,
    )
    return Page.of([AuditRead.model_validate(r) for r in rows], total=total, params=paging)
