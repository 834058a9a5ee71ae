"""Demo users: one per role, and a coordinator and a field worker per district.

They share one password, printed by `xietong demo`; this exists only for a local demonstration
database and refuses to run in production.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from xietong.areas import service as areas_service
from xietong.auth import service as auth_service
from xietong.auth.passwords import hash_password
from xietong.auth.schemas import UserCreate
from xietong.core.principal import Role
from xietong.storage.unit_of_work import clock_of

DEMO_PASSWORD = "xietong-demo"  # noqa: S105 (a published demo password, development only)


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: Role
    district_code: str | None
    district_name: str | None


def ensure_demo_users(session: Session) -> list[DemoUser]:
    """Create the demo users that do not exist yet; return all of them."""
    wanted = [
        DemoUser("command", Role.command, None, None),
        DemoUser("lab", Role.lab, None, None),
        DemoUser("viewer", Role.viewer, None, None),
    ]
    for district in areas_service.list_districts(session):
        code = district.code.lower()
        wanted.append(
            DemoUser(f"coord-{code}", Role.district_coordinator, district.code, district.name_hans)
        )
        wanted.append(
            DemoUser(f"field-{code}", Role.field_worker, district.code, district.name_hans)
        )
    # One published password for all: hashed once (argon2id takes ~0.1 s a time).
    shared: str | None = None
    for user in wanted:
        if auth_service.get_user(session, username=user.username) is None:
            shared = shared or hash_password(DEMO_PASSWORD)
            auth_service.create_user(
                session,
                user_in=UserCreate(
                    username=user.username,
                    display_name=(
                        f"{user.district_name} {user.role.value}" if user.district_name else None
                    ),
                    role=user.role,
                    district_code=user.district_code,
                ),
                district_id=areas_service.district_id_of(session, code=user.district_code),
                password_hash=shared,
                now=clock_of(session).now(),
            )
    return wanted
