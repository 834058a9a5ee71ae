"""Pydantic shapes of users, tokens and audit entries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from xietong.core.principal import Role


class UserCreate(BaseModel):
    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    display_name: str | None = None
    role: Role
    district_code: str | None = None
    password: str | None = Field(default=None, min_length=8)


class UserRead(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    district_code: str | None


class IssuedToken(BaseModel):
    user: UserRead
    token: str = Field(description="Shown once; only its hash is stored.")


class AuditRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    username: str
    district_id: int | None
    action: str
    entity: str
    entity_id: str
    reason: str | None
    detail: dict[str, Any] | None
