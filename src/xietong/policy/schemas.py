"""Shapes of the policy in the API."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel


class PolicyVersionRead(BaseModel):
    version: str
    name: str
    effective_from: date


class PolicyInForce(BaseModel):
    day: date
    version: str
    effective_from: date
    rules: dict[str, Any]


class PolicyAdopt(BaseModel):
    text: str
    effective_from: date | None = None
