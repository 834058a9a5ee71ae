"""Live streams in this process: subscribers with their own queue, fed from the dispatcher's thread.

Every server process tails the outbox table and feeds its own subscribers, so a stream sees all
messages whichever process wrote them. A subscriber too slow to keep up is dropped; its client
reconnects with Last-Event-ID and replays what it missed from the table.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from xietong.outbox.queue import BroadcastMessage

MAX_QUEUED = 1_000


class Subscription:
    """One open stream: a district (None: the command centre) and optional topic prefixes."""

    def __init__(
        self,
        *,
        district_id: int | None,
        topics: frozenset[str] | None,
        loop: asyncio.AbstractEventLoop,
        max_queued: int = MAX_QUEUED,
    ) -> None:
        self.district_id = district_id
        self.topics = topics
        self.loop = loop
        self.max_queued = max_queued
        self.queue: asyncio.Queue[BroadcastMessage | None] = asyncio.Queue()
        self.closed = False

    def wants(self, message: BroadcastMessage) -> bool:
        if not message.visible_to(self.district_id):
            return False
        return self.topics is None or any(message.topic.startswith(t) for t in self.topics)

    def _offer(self, message: BroadcastMessage | None) -> None:
        # Runs on the subscriber's event loop.
        if self.closed:
            return
        if message is None or self.queue.qsize() >= self.max_queued:
            self.closed = True
            self.queue.put_nowait(None)
            return
        self.queue.put_nowait(message)

    async def next(self) -> BroadcastMessage | None:
        """The next message, or None when the stream must end (slow reader, shutdown)."""
        if self.closed and self.queue.empty():
            return None
        return await self.queue.get()


class Broadcaster:
    """The process's subscribers; `publish` may be called from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscriptions: set[Subscription] = set()

    def subscribe(
        self, *, district_id: int | None, topics: Iterable[str] | None = None
    ) -> Subscription:
        subscription = Subscription(
            district_id=district_id,
            topics=frozenset(topics) if topics else None,
            loop=asyncio.get_running_loop(),
        )
        with self._lock:
            self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscriptions.discard(subscription)

    def publish(self, messages: Iterable[BroadcastMessage]) -> None:
        with self._lock:
            subscriptions = list(self._subscriptions)
        for message in messages:
            for subscription in subscriptions:
                if subscription.wants(message):
                    self._send(subscription, message)

    def close(self) -> None:
        """End every stream (server shutdown)."""
        with self._lock:
            subscriptions = list(self._subscriptions)
            self._subscriptions.clear()
        for subscription in subscriptions:
            self._send(subscription, None)

    def _send(self, subscription: Subscription, message: BroadcastMessage | None) -> None:
        try:
            subscription.loop.call_soon_threadsafe(subscription._offer, message)
        except RuntimeError:  # its event loop is closed: the stream is gone
            self.unsubscribe(subscription)


@dataclass
class TailCursor:
    """Which outbox ids this process has broadcast, tolerant of ids that commit out of order.

    PostgreSQL hands out ids when rows are inserted, not when they commit, so a higher id can
    be visible before a lower one. Missing ids below the highest seen are remembered as gaps and
    looked up again until they appear or `gap_timeout` passes (a rolled-back transaction leaves
    a gap for ever).
    """

    highest: int
    gap_timeout: timedelta = timedelta(minutes=2)
    max_gaps: int = 10_000
    gaps: dict[int, datetime] = field(default_factory=dict)

    def accept(self, ids: Iterable[int], now: datetime) -> list[int]:
        """Record ids just read; return those not broadcast before, in order."""
        fresh = []
        for message_id in sorted(set(ids)):
            if message_id in self.gaps:
                del self.gaps[message_id]
                fresh.append(message_id)
            elif message_id > self.highest:
                for missing in range(self.highest + 1, message_id):
                    self.gaps[missing] = now
                self.highest = message_id
                fresh.append(message_id)
        self._forget_old(now)
        return fresh

    def open_gaps(self) -> list[int]:
        return sorted(self.gaps)

    def _forget_old(self, now: datetime) -> None:
        expired = [i for i, since in self.gaps.items() if now - since > self.gap_timeout]
        for message_id in expired:
            del self.gaps[message_id]
        if len(self.gaps) > self.max_gaps:
            for message_id in sorted(self.gaps)[: len(self.gaps) - self.max_gaps]:
                del self.gaps[message_id]
