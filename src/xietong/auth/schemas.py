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
    active: bool = True
    created_at: datetime | None = None
    deactivated_at: datetime | None = None
    password_changed_at: datetime | None = None


class IssuedToken(BaseModel):
    user: UserRead
    token: str = Field(description="Shown once; only its hash is stored.")


class TokensRevoked(BaseModel):
    user: UserRead
    revoked: int = Field(description="How many tokens and sessions ended.")


class TokenCreate(BaseModel):
    name: str = Field(default="api", min_length=1, max_length=64)
    days: int | None = Field(
        default=None, ge=1, le=3650, description="Lifetime; at most the deployment's maximum."
    )


class TokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str = Field(description="The token's first characters, to recognise it.")
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class NewToken(BaseModel):
    token: str = Field(description="Shown once; only its hash is stored.")
    detail: TokenRead


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class PasswordReset(BaseModel):
    user: UserRead
    password: str = Field(description="A new random password, shown once.")


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
