"""The frame around the pages: login and logout, the landing page, and the static files.

plotly's JavaScript is served from the installed `plotly` package itself (its wheel ships
`package_data/plotly.min.js`), so no page loads a script from another host.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xietong.api.deps import SESSION_COOKIE, SessionDep
from xietong.auth.throttle import TooManyLogins
from xietong.core.errors import NotAuthenticated, NotFound
from xietong.core.principal import Principal, Role
from xietong.web.pages.common import safe_next
from xietong.web.rendering import render
from xietong.web.session import (
    Viewer,
    ViewerDep,
    check_csrf,
    log_in,
    log_out,
    set_session_cookie,
)

router = APIRouter(include_in_schema=False)

# Our own files only; anything else under /static is 404 (no path is ever joined from input).
STATIC_FILES = {"app.css": "text/css", "app.js": "text/javascript"}
STATIC_CACHE = "public, max-age=3600"
PLOTLY_CACHE = "public, max-age=604800"


@cache
def plotly_js_path() -> Path:
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise RuntimeError(f"plotly.min.js not found in the plotly package at {path}")
    return path


# Each role's daily work: a district's coordinators and field teams answer the referrals pushed
# to them (their district's overview is one click from the inbox), a laboratory uploads results,
# the command centre and viewers watch the city.
LANDING = {
    Role.district_coordinator: "/referrals",
    Role.field_worker: "/referrals",
    Role.lab: "/lab",
}


def landing(principal: Principal | None) -> str:
    """Where a user goes after logging in (and from "/"): the page of their daily work."""
    if principal is None:
        return "/login"
    if principal.district_id is None and principal.role is not Role.lab:
        return "/overview"
    return LANDING.get(principal.role, "/overview")


@router.get("/")
def home(viewer: ViewerDep) -> Response:
    if viewer.principal is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(landing(viewer.principal), status_code=303)


def _login_page(
    viewer: Viewer, session: Session, *, next_path: str, failed: bool, status_code: int = 200
) -> Response:
    return render(
        viewer,
        session,
        "login.html",
        {"next_path": safe_next(next_path, ""), "failed": failed},
        status_code=status_code,
    )


@router.get("/login")
def login_form(viewer: ViewerDep, session: SessionDep, next: str = "") -> Response:
    return _login_page(viewer, session, next_path=next, failed=False)


@router.post("/login")
def login(
    request: Request,
    viewer: ViewerDep,
    session: SessionDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "",
) -> Response:
    try:
        principal, token = log_in(
            session,
            username=username.strip(),
            password=password,
            address=request.client.host if request.client else None,
            settings=viewer.settings,
            now=viewer.now,
        )
    except NotAuthenticated:
        return _login_page(viewer, session, next_path=next, failed=True, status_code=401)
    except TooManyLogins:
        return _login_page(viewer, session, next_path=next, failed=True, status_code=429)
    target = safe_next(next, "") or landing(principal)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, token, secure=viewer.settings.environment == "production")
    return response


@router.post("/logout")
def logout(viewer: ViewerDep, session: SessionDep, csrf: Annotated[str, Form()] = "") -> Response:
    if viewer.session_token is not None:
        check_csrf(viewer, csrf)
        log_out(session, token=viewer.session_token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/static/plotly.min.js")
def plotly_js() -> FileResponse:
    return FileResponse(
        plotly_js_path(), media_type="text/javascript", headers={"Cache-Control": PLOTLY_CACHE}
    )


@cache
def _static_bytes(name: str) -> bytes:
    return resources.files("xietong.web").joinpath("static", name).read_bytes()


@router.get("/static/{name}")
def static_file(name: str) -> Response:
    media_type = STATIC_FILES.get(name)
    if media_type is None:
        raise NotFound(f"no static file {name!r}")
    return Response(
        _static_bytes(name),
        media_type=media_type,
        headers={"Cache-Control": STATIC_CACHE, "X-Content-Type-Options": "nosniff"},
    )
