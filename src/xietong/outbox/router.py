"""Routes of the outbox: the live stream, and the webhook endpoints and dead letters a command
centre (all) or a district coordinator (its own district's) manages."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, status

from xietong.api.deps import NowDep, PageDep, PrincipalDep, ProtectorDep, SessionDep
from xietong.core.pagination import Page
from xietong.outbox import service, sse
from xietong.outbox.schemas import (
    DeliveryRead,
    EndpointCreate,
    EndpointRead,
    EndpointUpdate,
    EndpointWithSecret,
    OutboxSummary,
)

admin = APIRouter(prefix="/api/outbox", tags=["outbox"])


@admin.get("/summary", summary="Messages and deliveries by status, oldest pending delivery")
def summary(session: SessionDep, principal: PrincipalDep) -> OutboxSummary:
    return service.summary(session, principal=principal)


@admin.get("/endpoints", summary="Webhook endpoints (a district sees its own)")
def list_endpoints(session: SessionDep, principal: PrincipalDep) -> list[EndpointRead]:
    return [
        service.endpoint_read(session, e)
        for e in service.list_endpoints(session, principal=principal)
    ]


@admin.post(
    "/endpoints",
    status_code=status.HTTP_201_CREATED,
    summary="Register a webhook endpoint; its signing secret is shown once",
)
def create_endpoint(
    now: NowDep,
    endpoint_in: EndpointCreate,
    session: SessionDep,
    principal: PrincipalDep,
    protector: ProtectorDep,
) -> EndpointWithSecret:
    endpoint, secret = service.create_endpoint(
        session, principal=principal, protector=protector, endpoint_in=endpoint_in, now=now
    )
    return EndpointWithSecret(
        **service.endpoint_read(session, endpoint).model_dump(), secret=secret
    )


@admin.patch("/endpoints/{endpoint_id}", summary="Change or deactivate a webhook endpoint")
def update_endpoint(
    now: NowDep,
    endpoint_id: int,
    changes: EndpointUpdate,
    session: SessionDep,
    principal: PrincipalDep,
) -> EndpointRead:
    endpoint = service.update_endpoint(
        session, principal=principal, endpoint_id=endpoint_id, changes=changes, now=now
    )
    return service.endpoint_read(session, endpoint)


@admin.post(
    "/endpoints/{endpoint_id}/rotate-secret",
    summary="Give an endpoint a new signing secret (shown once)",
)
def rotate_secret(
    now: NowDep,
    endpoint_id: int,
    session: SessionDep,
    principal: PrincipalDep,
    protector: ProtectorDep,
) -> EndpointWithSecret:
    endpoint, secret = service.rotate_secret(
        session, principal=principal, protector=protector, endpoint_id=endpoint_id, now=now
    )
    return EndpointWithSecret(
        **service.endpoint_read(session, endpoint).model_dump(), secret=secret
    )


@admin.get("/deliveries", summary="Webhook deliveries, newest first")
def list_deliveries(
    paging: PageDep,
    session: SessionDep,
    principal: PrincipalDep,
    delivery_status: Annotated[
        Literal["pending", "delivered", "dead"] | None, Query(alias="status")
    ] = None,
    endpoint_id: int | None = None,
) -> Page[DeliveryRead]:
    items, total = service.list_deliveries(
        session,
        principal=principal,
        status=delivery_status,
        endpoint_id=endpoint_id,
        limit=paging.limit,
        offset=paging.offset,
    )
    return Page.of(items, total=total, params=paging)


@admin.get("/dead-letters", summary="Deliveries that ran out of attempts: someone must act")
def dead_letters(
    paging: PageDep,
    session: SessionDep,
    principal: PrincipalDep,
) -> Page[DeliveryRead]:
    items, total = service.list_deliveries(
        session, principal=principal, status=service.DEAD, limit=paging.limit, offset=paging.offset
    )
    return Page.of(items, total=total, params=paging)


@admin.post(
    "/dead-letters/{delivery_id}/retry",
    summary="Queue a dead letter again with a fresh set of attempts",
)
def retry_dead_letter(
    now: NowDep, delivery_id: int, session: SessionDep, principal: PrincipalDep
) -> DeliveryRead:
    return service.retry_dead(session, principal=principal, delivery_id=delivery_id, now=now)


router = APIRouter()
router.include_router(sse.router)
router.include_router(admin)
