"""`/api/stream`: Server-Sent Events of the outbox, scoped to the caller's district (the command
centre sees everything). A client that reconnects with Last-Event-ID (or `?after=`) first gets
what it missed, read from the table, then the live messages.

The stream holds no database session: the caller is authenticated and the replay read in short
units of work, so that a hundred open dashboards do not pin a hundred connections.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import datetime
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
from xietong.outbox.broadcast import Subscription
from xietong.outbox.queue import BroadcastMessage
from xietong.outbox.runtime import broadcaster_of
from xietong.storage.engine import READ_ONLY, session_factory
from xietong.storage.unit_of_work import unit_of_work

router = APIRouter(tags=["outbox"])

REPLAY_LIMIT = 1_000
# A reconnecting client's missed messages are read in batches and filtered by its district
# before the limit applies; past this many rows scanned it is told to reload instead.
REPLAY_SCAN_BATCH = 2_000
REPLAY_SCAN_LIMIT = 100_000
RELOAD_EVENT = "stream.reload"
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


def _authenticate(request: Request, token: str) -> Principal:
    with unit_of_work(_reads(request), clock=get_clock(request)) as session:
        principal = auth_service.authenticate_token(session, token=token)
    if principal.role not in _STREAMING_ROLES:
        raise PermissionDenied(f"role {principal.role} may not follow the live stream")
    return principal


def _still_valid(request: Request, token: str) -> bool:
    try:
        _authenticate(request, token)
    except (NotAuthenticated, PermissionDenied):
        return False
    return True


def _replay(
    request: Request, after_id: int, subscription: Subscription
) -> tuple[list[BroadcastMessage], bool]:
    """What the subscriber missed after `after_id` (its own district's, up to the limit), and
    whether it is too far behind to catch up by replay (it must reload)."""
    wanted: list[BroadcastMessage] = []
    scanned = 0
    cursor = after_id
    with unit_of_work(_reads(request), clock=get_clock(request)) as session:
        while True:
            batch = queue.messages_after(session, after_id=cursor, limit=REPLAY_SCAN_BATCH)
            for message in batch:
                if subscription.wants(message):
                    if len(wanted) == REPLAY_LIMIT:
                        return wanted, True
                    wanted.append(message)
            scanned += len(batch)
            if len(batch) < REPLAY_SCAN_BATCH:
                return wanted, False
            if scanned >= REPLAY_SCAN_LIMIT:
                return wanted, True
            cursor = batch[-1].id


def _event(message: BroadcastMessage, now: datetime) -> ServerSentEvent:
    """The message, with the server's now: a page counts its deadlines from it."""
    return ServerSentEvent(
        data=json.dumps({**message.envelope(), "server_now": now.isoformat()}, ensure_ascii=False),
        event=message.topic,
        id=str(message.id),
    )


@router.get(
    "/api/stream",
    summary="Live events for your district (command centre: all), as Server-Sent Events",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}},
    # Authenticated by hand (the stream holds no session), by the same bearer token or cookie.
    openapi_extra={"security": [{"HTTPBearer": []}]},
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
    if last_event_id is not None and last_event_id.isdigit() and len(last_event_id) < 19:
        after_id = int(last_event_id)
    broadcaster = broadcaster_of(request.app)
    clock = get_clock(request)
    token = _token(request)
    recheck = float(request.app.state.settings.stream_recheck_seconds)
    # Subscribe before reading the replay, so that nothing falls between the two.
    principal = await run_in_threadpool(_authenticate, request, token)
    subscription = broadcaster.subscribe(district_id=principal.district_id, topics=topic)
    replay: list[BroadcastMessage] = []
    behind = False
    if after_id is not None:
        replay, behind = await run_in_threadpool(_replay, request, after_id, subscription)

    async def events() -> AsyncIterator[ServerSentEvent]:
        highest = after_id or 0
        checked = time.monotonic()
        try:
            if behind:
                # Too much was missed to replay: the client reloads its state and reconnects.
                yield ServerSentEvent(data="{}", event=RELOAD_EVENT)
                return
            for message in replay:
                highest = max(highest, message.id)
                yield _event(message, clock.now())
            while True:
                idle = False
                live: BroadcastMessage | None = None
                try:
                    live = await asyncio.wait_for(subscription.next(), timeout=max(recheck, 0.5))
                except TimeoutError:
                    idle = True
                if live is None and not idle:
                    return
                # The token or session may have been revoked, or its user deactivated: the
                # stream ends within `stream_recheck_seconds`, and before any further event.
                if time.monotonic() - checked >= recheck:
                    if not await run_in_threadpool(_still_valid, request, token):
                        return
                    checked = time.monotonic()
                if live is None:
                    continue
                if live.id > highest or after_id is None:
                    yield _event(live, clock.now())
        finally:
            broadcaster.unsubscribe(subscription)

    return EventSourceResponse(events(), ping=PING_SECONDS)
