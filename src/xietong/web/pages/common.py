"""What every page shares: the login gate, error pages, actions in a savepoint, and paging.

A page handler asks `guard` for its principal; a visitor without a session is sent to the login
page, and a domain error (not found, forbidden, conflict) becomes an error page in the frame
rather than the API's JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xietong.core.errors import (
    Conflict,
    DomainError,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
)
from xietong.core.pagination import MAX_PAGE_SIZE
from xietong.core.principal import Principal, Role
from xietong.web import forms
from xietong.web.i18n import translate
from xietong.web.rendering import render
from xietong.web.session import Viewer, check_csrf, to_login

T = TypeVar("T")
PAGE_SIZES = (20, 50, 100)
DEFAULT_PAGE_SIZE = 20


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


def guard(
    viewer: Viewer,
    session: Session,
    build: Callable[[Principal], Response],
    *,
    roles: Sequence[Role] | None = None,
) -> Response:
    """Run `build` for a logged-in principal (of one of `roles`), or answer with the right page."""
    if viewer.principal is None:
        return to_login(viewer)
    if roles is not None and viewer.principal.role not in roles:
        return error_page(viewer, session, PermissionDenied("role may not open this page"))
    try:
        return build(viewer.principal)
    except NotAuthenticated:
        return to_login(viewer)
    except DomainError as exc:
        return error_page(viewer, session, exc)


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
            if form_key and not forms.claim(
                session, key=form_key, username=principal.username, now=viewer.now
            ):
                return RedirectResponse(safe_next(back_to), status_code=303)
            action(principal)
    except DomainError as exc:
        return error_page(viewer, session, exc)
    return RedirectResponse(safe_next(back_to), status_code=303)


def safe_next(target: str | None, default: str = "/overview") -> str:
    """Only a path on this site: never an open redirect to another host."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def clamp_limit(limit: int | None) -> int:
    if limit is None or limit < 1:
        return DEFAULT_PAGE_SIZE
    return min(limit, MAX_PAGE_SIZE)


@dataclass(frozen=True)
class Paging(Generic[T]):
    """One page of a list with what the pager needs."""

    items: list[T]
    total: int
    limit: int
    offset: int

    @property
    def first(self) -> int:
        return self.offset + 1 if self.items else 0

    @property
    def last(self) -> int:
        return self.offset + len(self.items)

    @property
    def previous_offset(self) -> int | None:
        return max(0, self.offset - self.limit) if self.offset > 0 else None

    @property
    def next_offset(self) -> int | None:
        return self.offset + self.limit if self.offset + self.limit < self.total else None


def paginate_list(items: Sequence[T], *, limit: int, offset: int) -> Paging[T]:
    """Page a short list already in memory (e.g. 41 districts, a day's plan)."""
    return Paging(list(items[offset : offset + limit]), len(items), limit, offset)
