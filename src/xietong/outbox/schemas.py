"""Pydantic shapes of the outbox's admin API: endpoints, deliveries and dead letters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, HttpUrl


class EndpointCreate(BaseModel):
    url: HttpUrl
    # A district code; None with a command-centre caller registers the command centre's endpoint.
    district_code: str | None = None
    description: str = Field(default="", max_length=200)
    topics: list[str] | None = Field(
        default=None, description="Topic prefixes to receive (e.g. 'referral.'); all if omitted."
    )
    secret: str | None = Field(
        default=None,
        min_length=16,
        max_length=200,
        description="Signing secret; one is generated and shown once if omitted.",
    )


class EndpointUpdate(BaseModel):
    url: HttpUrl | None = None
    description: str | None = Field(default=None, max_length=200)
    topics: list[str] | None = None
    active: bool | None = None


class EndpointRead(BaseModel):
    id: int
    district_code: str | None
    url: str
    description: str
    topics: list[str] | None
    active: bool
    created_at: datetime
    created_by: str


class EndpointWithSecret(EndpointRead):
    """Returned once, when the endpoint is created or its secret rotated."""

    secret: str


class DeliveryRead(BaseModel):
    id: int
    message_id: int
    endpoint_id: int
    endpoint_url: str
    district_code: str | None
    topic: str
    idempotency_key: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
    payload: dict[str, Any]


class OutboxSummary(BaseModel):
    """What a night shift checks first: is anything stuck or dead?"""

    messages: dict[str, int]
    deliveries: dict[str, int]
    oldest_pending_delivery_at: datetime | None
