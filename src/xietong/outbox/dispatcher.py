"""The dispatcher: feeds this process's live streams from the outbox table, and sends the signed
webhooks that are due, recording every attempt in the delivery row.

Each step is one short transaction, so that no lock or SQLite write transaction is held while a
district's system answers. A delivery is leased before it is sent: on PostgreSQL several
processes claim with FOR UPDATE SKIP LOCKED and never take the same row; a process that dies
leaves its leases to expire, and the deliveries are sent again (receivers deduplicate on the
idempotency key: at least once, exactly once after deduplication).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Protocol

import httpx
from sqlalchemy.orm import Session

from xietong.core.clock import Clock
from xietong.outbox import queue, signing
from xietong.outbox.broadcast import Broadcaster, TailCursor
from xietong.outbox.queue import ClaimedDelivery, DeliveryOutcome
from xietong.outbox.retry import RetrySchedule
from xietong.people.protection import PersonalDataProtector

logger = logging.getLogger(__name__)

UnitOfWork = Callable[[], AbstractContextManager[Session]]


class WebhookResult:
    def __init__(self, *, ok: bool, status_code: int | None, error: str | None) -> None:
        self.ok = ok
        self.status_code = status_code
        self.error = error


class WebhookSender(Protocol):
    """Sends one signed request; never raises for a failed delivery."""

    def send(self, *, url: str, body: bytes, headers: dict[str, str]) -> WebhookResult: ...

    def close(self) -> None: ...


class HttpWebhookSender:
    """Webhooks over HTTP(S) with httpx; any 2xx answer is a delivery."""

    def __init__(self, *, timeout: float = 5.0) -> None:
        self._timeout = timeout
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    def _http(self) -> httpx.Client:
        # Built on first use: most server processes start long before their first webhook.
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(
                    timeout=httpx.Timeout(self._timeout), follow_redirects=False, trust_env=False
                )
            return self._client

    def send(self, *, url: str, body: bytes, headers: dict[str, str]) -> WebhookResult:
        try:
            response = self._http().post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return WebhookResult(ok=False, status_code=None, error=f"{type(exc).__name__}: {exc}")
        if 200 <= response.status_code < 300:
            return WebhookResult(ok=True, status_code=response.status_code, error=None)
        return WebhookResult(
            ok=False,
            status_code=response.status_code,
            error=f"HTTP {response.status_code}: {response.text[:500]}",
        )

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


class Dispatcher:
    """One process's dispatcher; `broadcast_new` and `deliver_due` are each one pass."""

    def __init__(
        self,
        *,
        work: UnitOfWork,
        protector: PersonalDataProtector,
        read: UnitOfWork | None = None,
        broadcaster: Broadcaster | None = None,
        sender: WebhookSender | None = None,
        clock: Clock,
        schedule: RetrySchedule | None = None,
        lease: timedelta = timedelta(seconds=30),
        batch_size: int = 100,
        concurrency: int = 8,
        rng: random.Random | None = None,
    ) -> None:
        self._work = work
        # Steps that only read (on SQLite: no wait for the write lock behind the writers).
        self._read = read or work
        self._protector = protector
        self.broadcaster = broadcaster or Broadcaster()
        self._sender = sender or HttpWebhookSender()
        self._clock = clock
        self.schedule = schedule or RetrySchedule()
        self._lease = lease
        self._batch_size = batch_size
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="webhook")
        self._rng = rng or random.Random()
        self._cursor: TailCursor | None = None

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._sender.close()

    # --- live streams ---------------------------------------------------------------------

    def start_tail(self) -> None:
        """Live streams start from now: older messages are replayed on request, not pushed."""
        with self._read() as session:
            self._cursor = TailCursor(highest=queue.latest_message_id(session))

    def broadcast_new(self) -> int:
        """Push messages committed since the last pass to this process's subscribers."""
        if self._cursor is None:
            self.start_tail()
        assert self._cursor is not None
        cursor = self._cursor
        published = 0
        while True:
            with self._read() as session:
                late = queue.messages_by_id(session, ids=cursor.open_gaps()[:1000])
                new = queue.messages_after(session, after_id=cursor.highest, limit=500)
            found = {m.id: m for m in (*late, *new)}
            fresh = cursor.accept(found, self._clock.now())
            self.broadcaster.publish(found[i] for i in fresh)
            published += len(fresh)
            if len(new) < 500:
                return published

    # --- webhooks -------------------------------------------------------------------------

    def deliver_due(self) -> int:
        """Send every delivery due now (in batches); return how many attempts were made."""
        attempts = 0
        while True:
            now = self._clock.now()
            with self._read() as session:
                if not queue.any_due(session, now=now):
                    return attempts
            with self._work() as session:
                claimed = queue.claim_due_deliveries(
                    session, now=now, lease=self._lease, limit=self._batch_size
                )
            if not claimed:
                return attempts
            outcomes = list(self._pool.map(self._attempt, claimed))
            with self._work() as session:
                queue.record_outcomes(session, outcomes=outcomes, now=self._clock.now())
            attempts += len(claimed)
            if len(claimed) < self._batch_size:
                return attempts

    def deliver_pass(self) -> datetime | None:
        """Send every delivery due now; return when the next one falls due (None: nothing
        pending). An idle pass, the usual one after a ring, is one read."""
        while True:
            now = self._clock.now()
            with self._read() as session:
                due = queue.next_due_at(session)
            # A delivery leased and not answered is due when its lease ends, any other when its
            # next attempt is: a due time not after now means something can be claimed.
            if due is None or due > now:
                return due
            with self._work() as session:
                claimed = queue.claim_due_deliveries(
                    session, now=now, lease=self._lease, limit=self._batch_size
                )
            if not claimed:  # another process took them first: look again after a ring or poll
                return None
            outcomes = list(self._pool.map(self._attempt, claimed))
            with self._work() as session:
                queue.record_outcomes(session, outcomes=outcomes, now=self._clock.now())

    def next_due_at(self) -> datetime | None:
        with self._read() as session:
            return queue.next_due_at(session)

    def release_leases(self) -> int:
        with self._read() as session:
            if not queue.leased_ids(session):
                return 0
        with self._work() as session:
            return queue.release_leases(session)

    def _attempt(self, claimed: ClaimedDelivery) -> DeliveryOutcome:
        secret = self._protector.decrypt(claimed.secret_enc)
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            signing.TIMESTAMP_HEADER: str(timestamp),
            signing.SIGNATURE_HEADER: signing.signature(secret, timestamp, claimed.body),
            signing.IDEMPOTENCY_HEADER: claimed.idempotency_key,
            signing.TOPIC_HEADER: claimed.topic,
            signing.ATTEMPT_HEADER: str(claimed.attempt),
        }
        try:
            result = self._sender.send(url=claimed.url, body=claimed.body, headers=headers)
        except Exception as exc:  # a sender bug must not lose the outcome of the batch
            logger.exception("webhook sender failed")
            result = WebhookResult(ok=False, status_code=None, error=f"{type(exc).__name__}: {exc}")
        retry_at = None
        if not result.ok and not self.schedule.exhausted(claimed.attempt):
            retry_at = self._clock.now() + self.schedule.delay_after(claimed.attempt, self._rng)
        if not result.ok:
            logger.warning(
                "webhook %s attempt %d to %s failed: %s",
                claimed.idempotency_key,
                claimed.attempt,
                claimed.url,
                result.error,
            )
        return DeliveryOutcome(
            delivery_id=claimed.id,
            lease=claimed.lease,
            ok=result.ok,
            status_code=result.status_code,
            error=result.error,
            retry_at=retry_at,
        )
