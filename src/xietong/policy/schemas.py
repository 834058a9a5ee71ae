"""Shapes of the policy in the API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class PolicyVersionRead(BaseModel):
    version: str
    name: str
    effective_from: date
    # None for the bundled default, which is in force until a city adopts its own file.
    adopted_at: datetime | None = None
    adopted_by: str | None = None
    # Adopted after the day it took effect: decisions of the days before were made under the
    # version that was in force then, which their own records name.
    retroactive: bool = False


class PolicyInForce(BaseModel):
    day: date
    version: str
    name: str
    effective_from: date
    rules: dict[str, Any]


class PolicyAdopt(BaseModel):
    text: str
    effective_from: date | None = None


class PolicyCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str


class PolicyChecked(BaseModel):
    valid: bool
    version: str
    name: str
    effective_from: date
