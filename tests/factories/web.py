"""Dashboard sessions: a user with a password, logged in through the login form; and the SQL
statements a view sends to the database."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.orm import Session

from tests.factories.auth import make_user
from xietong.api.deps import SESSION_COOKIE
from xietong.core.principal import Principal, Role

PASSWORD = "correct horse battery"
_serial = itertools.count(1)


def log_in(
    client: TestClient,
    session: Session,
    *,
    role: Role = Role.command,
    district_code: str | None = None,
) -> Principal:
    """Create a user with a password and log the client in as that user (cookie session)."""
    client.cookies.clear()
    principal, _ = make_user(session, role=role, district_code=district_code, password=PASSWORD)
    response = client.post(
        "/login",
        data={"username": principal.username, "password": PASSWORD},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert client.cookies.get(SESSION_COOKIE)
    return principal


def csrf_of(client: TestClient) -> str:
    """The CSRF token of the client's session, as the page's forms carry it."""
    from xietong.web.session import csrf_token

    return csrf_token(client.cookies[SESSION_COOKIE])


def figure(html: str, name: str) -> dict[str, Any]:
    """The plotly figure a page sends as JSON under `name` (`macros.figure`)."""
    match = re.search(
        rf'<script type="application/json" id="{name}-data">(.*?)</script>', html, re.S
    )
    assert match is not None, f"no figure {name}"
    result: dict[str, Any] = json.loads(match.group(1))
    return result


@contextmanager
def statements(session: Session) -> Iterator[list[str]]:
    """The SQL statements sent to the database meanwhile, by every connection of the engine,
    each on one line."""
    sent: list[str] = []

    def note(*args: Any) -> None:
        sent.append(" ".join(str(args[2]).split()))

    engine = session.get_bind().engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", note)
