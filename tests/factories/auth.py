"""Users and principals with a role and a jurisdiction."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from xietong.areas import service as areas_service
from xietong.auth import service
from xietong.auth.schemas import UserCreate
from xietong.core.principal import Principal, Role

_serial = itertools.count(1)


def make_user(
    session: Session,
    *,
    role: Role = Role.command,
    district_code: str | None = None,
    password: str | None = None,
) -> tuple[Principal, str]:
    """A user and its API token."""
    user = service.create_user(
        session,
        user_in=UserCreate(
            username=f"{role.value}-{district_code or 'city'}-{next(_serial)}",
            role=role,
            district_code=district_code,
            password=password,
        ),
        district_id=areas_service.district_id_of(session, code=district_code),
        now=datetime.now(UTC),
    )
    token = service.issue_token(session, user=user)
    return service.principal_of(user), token


def command_user(session: Session) -> tuple[Principal, str]:
    return make_user(session, role=Role.command)


def district_user(session: Session, district_code: str) -> tuple[Principal, str]:
    return make_user(session, role=Role.district_coordinator, district_code=district_code)
