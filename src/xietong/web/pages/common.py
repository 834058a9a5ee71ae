"""What every page shares: the login gate, error pages, and actions in a savepoint.

A page handler asks `guard` for its principal (a form's handler, `admit`); a visitor without a
session is sent to the login page, and a domain error (not found, forbidden, conflict) becomes an
error page in the frame rather than the API's JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xietong.core.errors import (
    Conflict,
    DomainError,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from xietong.core.principal import Principal, Role
from xietong.web import forms
from xietong.web.i18n import Language, join_list, label, row_reason, translate
from xietong.web.rendering import render
from xietong.web.session import Viewer, check_csrf, to_login


def error_page(viewer: Viewer, session: Session, exc: DomainError) -> HTMLResponse:
    """The error in the frame, in the reader's language: what happened, what to do about it, and
    a way on (the page the form came from, the login, or the landing page)."""
    lang = viewer.lang
    back = "/"
    if isinstance(exc, PermissionDenied) and exc.code == "csrf":
        # The form's token no longer matches the session (logged out and in again, or the page
        # was left open past the session): it is not a matter of the role.
        kind, back = "expired", safe_next(viewer.params.get("next"), viewer.path)
        message = translate(lang, "error.expired_form")
    elif isinstance(exc, NotFound):
        kind, message = "not_found", translate(lang, "error.not_found")
    elif isinstance(exc, PermissionDenied):
        kind, message = "forbidden", translate(lang, "error.forbidden")
    elif isinstance(exc, Conflict):
        kind, message = "conflict", translate(lang, "error.conflict", message=exc.message)
    elif isinstance(exc, ValidationFailed) and exc.errors:
        kind, message = "invalid", translate(lang, "error.invalid", message=refusals(lang, exc))
    else:
        kind, message = "invalid", translate(lang, "error.invalid", message=exc.message)
    return render(
        viewer,
        session,
        "error.html",
        {
            "message": message,
            "code": exc.code,
            "next_step": translate(lang, f"error.next_{kind}"),
            "back": back,
        },
        status_code=exc.status_code,
    )


def admit(
    viewer: Viewer, session: Session, *, roles: Sequence[Role] | None = None
) -> Principal | Response:
    """The logged-in principal (of one of `roles`), or the page that answers anyone else: the
    login for a visitor, the refusal for another role."""
    if viewer.principal is None:
        return to_login(viewer)
    if roles is not None and viewer.principal.role not in roles:
        return error_page(viewer, session, PermissionDenied("role may not open this page"))
    return viewer.principal


def guard(
    viewer: Viewer,
    session: Session,
    build: Callable[[Principal], Response],
    *,
    roles: Sequence[Role] | None = None,
) -> Response:
    """Run `build` for a logged-in principal (of one of `roles`), or answer with the right page."""
    principal = admit(viewer, session, roles=roles)
    if isinstance(principal, Response):
        return principal
    try:
        return build(principal)
    except NotAuthenticated:
        return to_login(viewer)
    except DomainError as exc:
        return error_page(viewer, session, exc)


def refusals(lang: Language, exc: ValidationFailed) -> str:
    """What a service refused, in the reader's language where the tables know its reasons: a
    step refused in the record's current state names that state."""
    said = [
        translate(lang, "error.refused_status", status=label(lang, "status", e.value))
        if e.field == "status" and e.value
        else row_reason(lang, e.reason) + (f" ({e.value})" if e.value else "")
        for e in exc.errors
    ]
    return join_list(lang, said)


def act(
    viewer: Viewer,
    session: Session,
    *,
    csrf: str | None,
    action: Callable[[Principal], None],
    back_to: str,
    form_key: str | None = None,
) -> Response:
    """Run a state change from a form in a savepoint, then go back (post/redirect/get).

    A form's key is claimed with the change: a second submission of the same form (a double
    click, a resent request) finds it claimed and only goes back, acting once in all."""
    principal = viewer.principal
    if principal is None:
        return to_login(viewer)
    try:
        check_csrf(viewer, csrf)
        with session.begin_nested():
            if already_sent(viewer, session, form_key):
                return RedirectResponse(safe_next(back_to), status_code=303)
            action(principal)
    except DomainError as exc:
        return error_page(viewer, session, exc)
    return RedirectResponse(safe_next(back_to), status_code=303)


def already_sent(viewer: Viewer, session: Session, form_key: str | None) -> bool:
    """Claim the form's key with the change it makes: True when this very form was sent before
    (a double click, a resent request), so that its change is made once in all."""
    if not form_key:
        return False
    username = viewer.require().username
    return not forms.claim(session, key=form_key, username=username, now=viewer.now)


def safe_next(target: str | None, default: str = "/overview") -> str:
    """Only a path on this site: never an open redirect to another host."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
