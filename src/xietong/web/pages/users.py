"""The command centre's users page: the list, a user created (role and district chosen, no
default), a password reset, a user's tokens and sessions ended, an account deactivated or let in
again. Each goes through `auth.service` and is audited as the account API's route is; a new or
reset password is shown once, on the page that answers the form, and never stored in plain.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from xietong.api.deps import SessionDep
from xietong.areas import service as areas_service
from xietong.auth import service as auth_service
from xietong.auth.schemas import UserCreate
from xietong.core.errors import Conflict, DomainError, RowError, ValidationFailed
from xietong.core.principal import ROLE_PERMISSIONS, Permission, Principal, Role
from xietong.web.form_errors import field_errors, message
from xietong.web.i18n import translate
from xietong.web.pages.common import act, admit, already_sent, error_page
from xietong.web.pages.listing import ListPage, ListRequest
from xietong.web.rendering import render
from xietong.web.session import Viewer, ViewerDep, check_csrf

router = APIRouter(include_in_schema=False)

ROLES = tuple(Role)
# The district choice's value for a user of the whole city (an empty value means "not chosen").
CITY = "city"
ACTIVE_FILTERS = ("all", "active", "inactive")
Text = Annotated[str, Form()]


# The roles that manage users (the command centre's), by the permission the account API asks for.
MANAGERS = tuple(r for r in Role if Permission.manage_users in ROLE_PERMISSIONS[r])


def _audit(session: Session, principal: Principal, action: str, username: str) -> None:
    auth_service.record_audit(
        session, principal=principal, action=action, entity="user", entity_ids=[username]
    )


def _list_page(
    listing: ListRequest,
    *,
    active: str,
    values: dict[str, str] | None = None,
    errors: list[RowError] | None = None,
    status_code: int = 200,
) -> Response:
    session = listing.session
    shown = {"active": True, "inactive": False}.get(active)
    users, total = auth_service.list_users(
        session, active=shown, limit=listing.limit, offset=listing.offset
    )
    codes = areas_service.district_code_by_id(session)
    rows = [auth_service.user_read(u, district_codes=codes) for u in users]
    filters = {"active": active}
    context: dict[str, Any] = {
        "active": active,
        "active_filters": ACTIVE_FILTERS,
        "roles": ROLES,
        "values": values or {},
        "errors": errors or [],
        "row_query": listing.query(filters),
        "back_to": "/users",
    }
    return listing.render(
        "users.html",
        listing.page(rows, total),
        filters=filters,
        context=context,
        status_code=status_code,
    )


@router.get("/users")
def users_page(listing: ListPage, active: str | None = None) -> Response:
    chosen = active if active in ACTIVE_FILTERS else "all"
    return listing.guard(lambda principal: _list_page(listing, active=chosen), roles=MANAGERS)


def _secret(
    viewer: Viewer, session: Session, *, username: str, password: str, kind: str
) -> Response:
    """The one time a password is shown: on the answer to the form that made it."""
    context = {"username": username, "password": password, "kind": kind}
    return render(viewer, session, "users_secret.html", context)


@router.post("/users")
def create_user(
    viewer: ViewerDep,
    session: SessionDep,
    csrf: Text = "",
    username: Text = "",
    display_name: Text = "",
    role: Text = "",
    district: Text = "",
    form_key: Text = "",
) -> Response:
    """Create a user with a password made here and shown once."""
    principal = admit(viewer, session, roles=MANAGERS)
    if isinstance(principal, Response):
        return principal
    lang = viewer.lang
    values = {
        "username": username,
        "display_name": display_name,
        "role": role,
        "district": district,
    }
    labels = {
        "username": translate(lang, "users.username"),
        "display_name": translate(lang, "users.display_name"),
        "role": translate(lang, "users.role"),
        "district_code": translate(lang, "users.district"),
    }
    password = secrets.token_urlsafe(15)
    try:
        check_csrf(viewer, csrf)
        if not district:
            # No default: a user of the whole city is a choice, as a district is.
            raise ValidationFailed(
                errors=[
                    RowError("user", "district", message(lang, "missing", labels["district_code"]))
                ]
            )
        try:
            user_in = UserCreate.model_validate(
                {
                    "username": username.strip(),
                    "display_name": display_name.strip() or None,
                    "role": role,
                    "district_code": None if district == CITY else district,
                    "password": password,
                }
            )
        except ValidationError as exc:
            raise ValidationFailed(
                errors=field_errors(
                    exc,
                    lang=lang,
                    record="user",
                    labels=labels,
                    fields={"district_code": "district"},
                )
            ) from exc
        with session.begin_nested():
            if already_sent(viewer, session, form_key):
                return RedirectResponse("/users", status_code=303)
            user = auth_service.create_user(
                session,
                user_in=user_in,
                district_id=areas_service.district_id_of(session, code=user_in.district_code),
                now=viewer.now,
                production=viewer.settings.environment == "production",
            )
            _audit(session, principal, "create", user.username)
    except ValidationFailed as refused:
        return _list_page(
            ListRequest(viewer, session),
            active="all",
            values=values,
            errors=refused.errors,
            status_code=422,
        )
    except Conflict as exc:
        taken = RowError("user", "username", translate(lang, "users.taken", name=username))
        if exc.code != "user_exists":
            return error_page(viewer, session, exc)
        return _list_page(
            ListRequest(viewer, session),
            active="all",
            values=values,
            errors=[taken],
            status_code=409,
        )
    except DomainError as exc:
        return error_page(viewer, session, exc)
    return _secret(viewer, session, username=user.username, password=password, kind="created")


@router.post("/users/{username}/password-reset")
def reset_password(
    username: str,
    viewer: ViewerDep,
    session: SessionDep,
    csrf: Text = "",
    form_key: Text = "",
) -> Response:
    """A new random password, shown once; the user's sessions end."""
    principal = admit(viewer, session, roles=MANAGERS)
    if isinstance(principal, Response):
        return principal
    try:
        check_csrf(viewer, csrf)
        with session.begin_nested():
            if already_sent(viewer, session, form_key):
                return RedirectResponse("/users", status_code=303)
            user, password = auth_service.reset_password(session, username=username, now=viewer.now)
            _audit(session, principal, "reset_password", username)
    except DomainError as exc:
        return error_page(viewer, session, exc)
    return _secret(viewer, session, username=user.username, password=password, kind="reset")


@router.post("/users/{username}/{action}")
def user_action(
    username: str,
    action: str,
    viewer: ViewerDep,
    session: SessionDep,
    csrf: Text = "",
    next: Text = "",
    form_key: Text = "",
) -> Response:
    """End a user's tokens and sessions, deactivate the user, or let the user in again."""

    def run(principal: Principal) -> None:
        if action == "revoke-tokens":
            auth_service.revoke_tokens(
                session, principal=principal, username=username, now=viewer.now
            )
        elif action == "deactivate":
            auth_service.deactivate_user(session, username=username, now=viewer.now)
        elif action == "reactivate":
            auth_service.reactivate_user(session, username=username)
        else:
            raise ValidationFailed(summary=f"unknown action {action!r}")
        _audit(session, principal, action.replace("-", "_"), username)

    refused = admit(viewer, session, roles=MANAGERS)
    if isinstance(refused, Response):
        return refused
    return act(viewer, session, csrf=csrf, action=run, back_to=next or "/users", form_key=form_key)
