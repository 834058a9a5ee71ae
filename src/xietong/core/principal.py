"""Who is asking: a user's role and jurisdiction (the city, or one district)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from xietong.core.errors import PermissionDenied


class Role(enum.StrEnum):
    command = "command"  # 市指揮部: the city's command centre
    district_coordinator = "district_coordinator"  # 區指揮部
    lab = "lab"
    field_worker = "field_worker"  # 流調
    viewer = "viewer"


class Permission(enum.StrEnum):
    read_persons = "read_persons"
    write_persons = "write_persons"
    import_persons = "import_persons"
    read_areas = "read_areas"
    write_areas = "write_areas"
    manage_users = "manage_users"
    submit_lab_results = "submit_lab_results"
    read_audit = "read_audit"
    merge_persons = "merge_persons"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.command: frozenset(Permission),
    Role.district_coordinator: frozenset(
        {
            Permission.read_persons,
            Permission.write_persons,
            Permission.import_persons,
            Permission.read_areas,
            Permission.write_areas,
            Permission.read_audit,
            Permission.merge_persons,
        }
    ),
    Role.lab: frozenset({Permission.read_areas, Permission.submit_lab_results}),
    Role.field_worker: frozenset(
        {Permission.read_persons, Permission.write_persons, Permission.read_areas}
    ),
    Role.viewer: frozenset({Permission.read_areas}),
}


@dataclass(frozen=True)
class Principal:
    """The authenticated caller; `district_id` None means the whole city."""

    user_id: int
    username: str
    role: Role
    district_id: int | None
    # The token or dashboard session the caller came with (None: the system, a CLI command).
    token_id: int | None = None

    @property
    def is_city(self) -> bool:
        return self.district_id is None

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]

    def require(self, permission: Permission) -> None:
        """Refuse (PermissionDenied) a caller whose role lacks `permission`."""
        if not self.can(permission):
            raise PermissionDenied(f"role {self.role} may not {permission}")


# The system acting on its own (migrations, scheduled jobs, the twin's replay).
SYSTEM = Principal(user_id=0, username="system", role=Role.command, district_id=None)
