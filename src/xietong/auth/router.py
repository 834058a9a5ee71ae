"""Routes of users, tokens and the audit trail."""

from __future__ import annotations

from fastapi import APIRouter, status

from xietong.api.deps import NowDep, PageDep, PrincipalDep, SessionDep, requires
from xietong.auth import service
from xietong.auth.schemas import AuditRead, IssuedToken, UserCreate, UserRead
from xietong.core.pagination import Page
from xietong.core.principal import Permission

router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.get("/me", summary="Who am I: role and jurisdiction")
def me(session: SessionDep, principal: PrincipalDep) -> UserRead:
    user = service.get_user(session, username=principal.username)
    assert user is not None
    return service.user_read(session, user)


@router.post(
    "/users",
    status_code=status.HTTP_201_CREATED,
    summary="Create a user and issue its first token (command centre only)",
    dependencies=[requires(Permission.manage_users)],
)
def create_user(now: NowDep, user_in: UserCreate, session: SessionDep) -> IssuedToken:
    user = service.create_user(session, user_in=user_in, now=now)
    token = service.issue_token(session, user=user)
    return IssuedToken(user=service.user_read(session, user), token=token)


@router.get(
    "/audit",
    summary="The audit trail, newest first",
    dependencies=[requires(Permission.read_audit)],
)
def audit(
    paging: PageDep,
    session: SessionDep,
    principal: PrincipalDep,
    entity: str | None = None,
    entity_id: str | None = None,
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
