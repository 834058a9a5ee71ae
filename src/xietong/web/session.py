"""Who is looking at a page: the dashboard's session cookie, its language and its CSRF token.

The session is an ordinary API token (issued at login, revoked at logout) carried in the
`xietong_session` cookie, so the pages and the API share users, roles and scoping, and the
browser's EventSource on `/api/stream` is authenticated by the same cookie.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from xietong.api.deps import SESSION_COOKIE, SessionDep, get_now, get_settings_dep
from xietong.auth import service as auth_service
from xietong.config import Settings
from xietong.core.errors import NotAuthenticated, PermissionDenied
from xietong.core.principal import Principal
from xietong.web.i18n import LANG_COOKIE, Language, pick_language

# A shift is twelve hours; a session outlives it a little so nobody is logged out mid-handover.
SESSION_HOURS = 14
CSRF_FIELD = "csrf"


@dataclass(frozen=True)
class Viewer:
    """The request's principal (None: not logged in), language, settings and moment."""

    principal: Principal | None
    lang: Language
    settings: Settings
    now: datetime
    session_token: str | None
    path: str
    # The page's query parameters except the language, for links that keep the filters.
    params: dict[str, str]

    @property
    def csrf(self) -> str:
        return csrf_token(self.session_token or "")

    def require(self) -> Principal:
        if self.principal is None:
            raise NotAuthenticated("login required", code="login_required")
        return self.principal


def csrf_token(session_token: str) -> str:
    """A per-session token for forms, derived from the session so nothing more is stored."""
    return hashlib.sha256(b"xietong-csrf:" + session_token.encode()).hexdigest()[:32]


def check_csrf(viewer: Viewer, submitted: str | None) -> None:
    if viewer.session_token is None or not hmac.compare_digest(viewer.csrf, submitted or ""):
        raise PermissionDenied("the form has expired; reload the page", code="csrf")


def get_viewer(request: Request, session: SessionDep) -> Viewer:
    token = request.cookies.get(SESSION_COOKIE)
    principal = None
    if token:
        try:
            principal = auth_service.authenticate_token(session, token=token)
        except NotAuthenticated:
            token = None
    return Viewer(
        principal=principal,
        lang=pick_language(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)),
        settings=get_settings_dep(request),
        now=get_now(request),
        session_token=token,
        path=request.url.path,
        params={k: v for k, v in request.query_params.items() if k != "lang"},
    )


ViewerDep = Annotated[Viewer, Depends(get_viewer)]


def log_in(
    session: Session, *, username: str, password: str, now: datetime
) -> tuple[Principal, str]:
    """Check the password and issue a session token (an API token named `dashboard`)."""
    principal = auth_service.authenticate_password(session, username=username, password=password)
    user = auth_service.get_user(session, username=username)
    assert user is not None
    token = auth_service.issue_token(
        session, user=user, name="dashboard", expires_at=now + timedelta(hours=SESSION_HOURS)
    )
    return principal, token


def log_out(session: Session, *, token: str | None) -> None:
    if token:
        auth_service.revoke_token(session, token=token)


def set_session_cookie(response: Response, token: str, *, secure: bool) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=SESSION_HOURS * 3600,
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/",
    )


def to_login(viewer: Viewer) -> RedirectResponse:
    """Send a visitor without a session to the login page, coming back here afterwards."""
    return RedirectResponse(f"/login?next={viewer.path}", status_code=303)
