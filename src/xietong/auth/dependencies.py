"""FastAPI dependencies giving every endpoint its principal and the services' shared objects."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from xietong.auth import service, tokens
from xietong.config import Settings
from xietong.core.errors import NotAuthenticated, PermissionDenied
from xietong.core.principal import Permission, Principal
from xietong.people.protection import PersonalDataProtector
from xietong.storage.dependencies import SessionDep

_bearer = HTTPBearer(auto_error=False)

SESSION_COOKIE = "xietong_session"


CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


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
