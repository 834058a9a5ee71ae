"""`/api/stream`: Server-Sent Events of the outbox, scoped to the caller's district (the command
centre sees everything). A client that reconnects with Last-Event-ID (or `?after=`) first gets
what it missed, read from the table, then the live messages.

The stream holds no database session: the caller is authenticated and the replay read in short
units of work, so that a hundred open dashboards do not pin a hundred connections.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from sqlalchemy.orm import Session, sessionmaker
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from xietong.api.deps import SESSION_COOKIE, get_clock
from xietong.auth import service as auth_service
from xietong.core.errors import NotAuthenticated, PermissionDenied
from xietong.core.principal import Principal, Role
from xietong.outbox import queue
from xietong.outbox.queue import BroadcastMessage
from xietong.outbox.runtime import broadcaster_of
from xietong.storage.engine import READ_ONLY, session_factory
from xietong.storage.unit_of_work import unit_of_work

router = APIRouter(tags=["outbox"])

REPLAY_LIMIT = 1_000
PING_SECONDS = 15
_STREAMING_ROLES = {Role.command, Role.district_coordinator, Role.field_worker}


def _token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer" and credentials:
        return credentials
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return cookie
    raise NotAuthenticated("a bearer token is required", code="not_authenticated")


def _reads(request: Request) -> sessionmaker[Session]:
    """Sessions that only read: on SQLite a stream opens without waiting behind the writers."""
    state = request.app.state
    factory: sessionmaker[Session] | None = getattr(state, "outbox_read_sessions", None)
    if factory is None:
        factory = session_factory(state.engine.execution_options(**{READ_ONLY: True}))
        state.outbox_read_sessions = factory
    return factory


def _authenticate(request: Request) -> Principal:
    with unit_of_work(_reads(request), clock=get_clock(request)) as session:
        principal = auth_service.authenticate_token(session, token=_token(request))
    if principal.role not in _STREAMING_ROLES:
        raise PermissionDenied(f"role {principal.role} may not follow the live stream")
    return principal


def _replay(request: Request, after_id: int) -> list[BroadcastMessage]:
    with unit_of_work(_reads(request), clock=get_clock(request)) as session:
        return queue.messages_after(session, after_id=after_id, limit=REPLAY_LIMIT)


def _event(message: BroadcastMessage) -> ServerSentEvent:
    return ServerSentEvent(
        data=json.dumps(message.envelope(), ensure_ascii=False),
        event=message.topic,
        id=str(message.id),
    )


@router.get(
    "/api/stream",
    summary="Live events for your district (command centre: all), as Server-Sent Events",
    response_class=EventSourceResponse,
)
async def stream(
    request: Request,
    topic: Annotated[
        list[str] | None, Query(description="Topic prefixes to receive, e.g. 'referral.'")
    ] = None,
    after: Annotated[int | None, Query(ge=0, description="Replay messages after this id")] = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> EventSourceResponse:
    after_id = after
    if last_event_id is not None and last_event_id.isdigit():
        after_id = int(last_event_id)
    broadcaster = broadcaster_of(request.app)
    # Subscribe before reading the replay, so that nothing falls between the two.
    principal = await run_in_threadpool(_authenticate, request)
    subscription = broadcaster.subscribe(district_id=principal.district_id, topics=topic)
    replay = [] if after_id is None else await run_in_threadpool(_replay, request, after_id)

    async def events() -> AsyncIterator[ServerSentEvent]:
        highest = after_id or 0
        try:
            for message in replay:
                if subscription.wants(message):
                    highest = max(highest, message.id)
                    yield _event(message)
            while True:
                live = await subscription.next()
                if live is None:
                    return
                if live.id > highest or after_id is None:
                    yield _event(live)
        finally:
            broadcaster.unsubscribe(subscription)

    return EventSourceResponse(events(), ping=PING_SECONDS)
