"""FastAPI dependencies of every route: the request's unit of work (one session, committed when the
endpoint returns), the caller's principal and the shared objects kept in the application's state."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from xietong.auth import service
from xietong.config import Settings
from xietong.core.clock import Clock, local_day
from xietong.core.errors import NotAuthenticated, PermissionDenied
from xietong.core.pagination import LongPageParams, PageParams
from xietong.core.principal import Permission, Principal
from xietong.people.protection import PersonalDataProtector
from xietong.storage.unit_of_work import unit_of_work


def get_clock(request: Request) -> Clock:
    """The application's one clock (`create_app(settings, clock=...)`)."""
    clock: Clock = request.app.state.clock
    return clock


def get_now(request: Request) -> datetime:
    """The request's instant, read once from the application's clock."""
    return get_clock(request).now()


def get_today(request: Request) -> date:
    """The request's local day in the deployment's time zone."""
    return local_day(get_now(request), get_settings_dep(request).timezone)


ClockDep = Annotated[Clock, Depends(get_clock)]
NowDep = Annotated[datetime, Depends(get_now)]
TodayDep = Annotated[date, Depends(get_today)]
# `?limit=&offset=` of a paginated list, validated as one model (422 on a bad value).
PageDep = Annotated[PageParams, Query()]
LongPageDep = Annotated[LongPageParams, Query()]


def get_session(request: Request) -> Iterator[Session]:
    """The request's session: committed when the endpoint returns, rolled back if it raises."""
    with unit_of_work(request.app.state.session_factory, clock=get_clock(request)) as session:
        yield session


# scope="function": the unit of work commits when the endpoint returns, before the response is
# sent, so that an answer the caller received is never lost to a crash that follows it.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]

_bearer = HTTPBearer(auto_error=False)

SESSION_COOKIE = "xietong_session"


def get_principal(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller, from a bearer token (API) or the dashboard's session cookie."""
    token = credentials.credentials if credentials is not None else None
    if token is None:
        token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise NotAuthenticated("a bearer token is required", code="not_authenticated")
    return service.authenticate_token(session, token=token)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def requires(permission: Permission) -> Any:
    """A dependency refusing callers whose role lacks `permission`."""

    def check(principal: PrincipalDep) -> Principal:
        if not principal.can(permission):
            raise PermissionDenied(f"role {principal.role} may not {permission}")
        return principal

    return Depends(check)


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_protector(request: Request) -> PersonalDataProtector:
    protector: PersonalDataProtector = request.app.state.protector
    return protector


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ProtectorDep = Annotated[PersonalDataProtector, Depends(get_protector)]


@dataclass(frozen=True)
class Acting:
    """What a route that changes something needs: the session, who acts, the settings and when."""

    session: Session
    principal: Principal
    settings: Settings
    now: datetime


def get_acting(
    session: SessionDep, principal: PrincipalDep, settings: SettingsDep, now: NowDep
) -> Acting:
    return Acting(session=session, principal=principal, settings=settings, now=now)


ActingDep = Annotated[Acting, Depends(get_acting)]
