"""FastAPI dependencies of every route: the request's unit of work (one session, committed when the
endpoint returns), a read-only one for the dashboards' and lists' reads (on the read replica when
it can answer right), the caller's principal and the shared objects kept in the application's
state."""

from __future__ import annotations

import hmac
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, TextIO, TypeVar

from fastapi import Depends, Query, Request, UploadFile
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker

from xietong.api.guards import check_json
from xietong.auth import service, tokens
from xietong.config import Settings
from xietong.core import bodies
from xietong.core.bodies import RawBody as RawBody
from xietong.core.clock import Clock, local_day
from xietong.core.errors import NotAuthenticated, PermissionDenied
from xietong.core.pagination import LongPageParams, PageParams
from xietong.core.principal import Permission, Principal
from xietong.people.protection import PersonalDataProtector
from xietong.storage.replica import WRITTEN_COOKIE, WRITTEN_LSN, ReadRouting
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


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
Model = TypeVar("Model", bound=BaseModel)
ClockDep = Annotated[Clock, Depends(get_clock)]
NowDep = Annotated[datetime, Depends(get_now)]
TodayDep = Annotated[date, Depends(get_today)]
# `?limit=&offset=` of a paginated list, validated as one model (422 on a bad value).
PageDep = Annotated[PageParams, Query()]
LongPageDep = Annotated[LongPageParams, Query()]
# `?load_valid=` of an import, the CLI's --load-valid: the API answers the count of rejected rows
# (the CLI can also write them to a file); without it the file is refused whole and the error
# names every bad line.
LoadValidQuery = Annotated[
    bool, Query(description="Load the valid rows even if some are bad (rows_rejected counts them).")
]


def uploaded_csv(file: UploadFile) -> TextIO:
    """An uploaded CSV file as text: UTF-8 (a byte-order mark skipped), newlines as written."""
    return io.TextIOWrapper(file.file, encoding="utf-8-sig", newline="")


def get_session(request: Request) -> Iterator[Session]:
    """The request's session: committed when the endpoint returns, rolled back if it raises."""
    with unit_of_work(request.app.state.session_factory, clock=get_clock(request)) as session:
        yield session
    routing: ReadRouting | None = request.app.state.read_routing
    if routing is not None and request.method not in _SAFE_METHODS:
        # What this client wrote, its next reads must see (read-your-writes).
        request.state.written_lsn = routing.written_position()


def get_read_session(request: Request) -> Iterator[Session]:
    """A session that only reads: on the replica when it is up, close enough and holds what this
    client wrote; on the primary otherwise. Writing through it fails on PostgreSQL."""
    routing: ReadRouting | None = request.app.state.read_routing
    if routing is None:
        factory = request.app.state.read_session_factory
    else:
        written = request.headers.get(WRITTEN_LSN) or request.cookies.get(WRITTEN_COOKIE)
        source = routing.source_for(written)
        request.state.read_from = source
        factory = request.app.state.read_session_factories[source]
    with unit_of_work(factory, clock=get_clock(request)) as session:
        yield session


def get_session_factory(request: Request) -> sessionmaker[Session]:
    """The application's sessions, for work after the response (a background task): the
    request's unit of work has ended by then, so the task opens one of its own."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    return factory


# scope="function": the unit of work commits when the endpoint returns, before the response is
# sent, so that an answer the caller received is never lost to a crash that follows it.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]
SessionFactoryDep = Annotated[sessionmaker[Session], Depends(get_session_factory)]

_bearer = HTTPBearer(auto_error=False)

SESSION_COOKIE = "xietong_session"


CSRF_HEADER = "X-CSRF-Token"


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if not origin:
        return False
    return origin.rstrip("/") == f"{request.url.scheme}://{request.url.netloc}"


def check_cookie_request(request: Request, session_token: str) -> None:
    """A state change authenticated by the session cookie alone must prove it comes from our
    own pages: the session's CSRF token in a header, or a same-origin Origin header (a browser
    always sends Origin on cross-site POSTs, and a page cannot forge it)."""
    if request.method in _SAFE_METHODS or _same_origin(request):
        return
    submitted = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(submitted, tokens.csrf_token(session_token)):
        raise PermissionDenied(
            "a cookie-authenticated change needs the CSRF token or a same-origin request",
            code="csrf",
        )


def get_principal(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller, from a bearer token (API) or the dashboard's session cookie."""
    token = credentials.credentials if credentials is not None else None
    if token is None:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            check_cookie_request(request, token)
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
    """What a route that changes something needs: the session, who acts, the settings, when, and
    the protector of the personal data it reads back."""

    session: Session
    principal: Principal
    settings: Settings
    now: datetime
    protector: PersonalDataProtector


def get_acting(
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    now: NowDep,
    protector: ProtectorDep,
) -> Acting:
    return Acting(
        session=session, principal=principal, settings=settings, now=now, protector=protector
    )


ActingDep = Annotated[Acting, Depends(get_acting)]


def load_upload(
    acting: Acting, file: UploadFile, load: Callable[..., Model], **particular: Any
) -> Model:
    """An uploaded CSV file loaded by `load` (a service given the file's stream and name) in the
    caller's name at the request's instant; `particular` are that service's own arguments."""
    return load(
        acting.session,
        principal=acting.principal,
        stream=uploaded_csv(file),
        source_name=file.filename or "upload",
        tz=acting.settings.timezone,
        now=acting.now,
        **particular,
    )


def parse_body(model: type[Model], body: RawBody) -> Model:
    """A route's JSON body as `model`, parsed in the route's thread (`core.bodies`) with the
    bounds every declared body gets from `guards.guard_input` (64-bit integers, dates in their
    window, no NUL)."""

    def bounds(document: Any) -> list[dict[str, Any]]:
        errors: list[dict[str, Any]] = []
        check_json(document, model, loc=("body",), errors=errors)
        return errors

    return bodies.parse_body(model, body, check=bounds)
