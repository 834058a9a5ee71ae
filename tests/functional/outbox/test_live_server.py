"""The real server, end to end: live streams scoped by district, and the kill test — SIGKILL the
server while a thousand referrals are being created and delivered to a district's webhook
receiver, start it again, and nothing is lost or doubled."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.functional.outbox.live import (
    PG_URL,
    RECEIVER,
    THIRD,
    Server,
    drop_database,
    fresh_database,
    prepare_city,
)
from tests.functional.outbox.receiver import Receiver
from tests.polling import PATIENCE, PATIENT
from xietong.outbox.models import Delivery, OutboxMessage
from xietong.referrals.models import Referral
from xietong.storage.engine import build_engine

BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
REFERRALS = 1_000


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    url, name = fresh_database(request.param, tmp_path)
    yield url
    drop_database(name)


class Stream:
    """An open /api/stream, read in a thread; events arrive in `events`."""

    def __init__(self, base: str, token: str, *, last_event_id: str | None = None) -> None:
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.ready = threading.Event()
        headers = auth(token) | ({"Last-Event-ID": last_event_id} if last_event_id else {})
        self._client = httpx.Client(base_url=base, timeout=httpx.Timeout(PATIENCE, read=None))
        self._thread = threading.Thread(target=self._read, args=(headers,), daemon=True)
        self._thread.start()
        assert self.ready.wait(PATIENCE)

    def _read(self, headers: dict[str, str]) -> None:
        try:
            with self._client.stream("GET", "/api/stream", headers=headers) as response:
                self.ready.set()
                event: dict[str, Any] = {}
                for line in response.iter_lines():
                    if line.startswith("event:"):
                        event["topic"] = line.split(":", 1)[1].strip()
                    elif line.startswith("data:"):
                        event["data"] = json.loads(line.split(":", 1)[1])
                    elif line == "" and "data" in event:
                        self.events.put(event)
                        event = {}
        except httpx.HTTPError:
            return

    def next(self) -> dict[str, Any]:
        return self.events.get(timeout=PATIENCE)

    def close(self) -> None:
        self._client.close()


@pytest.mark.slow
def test_live_streams_reach_the_districts_concerned_and_replay_what_was_missed(
    database: str, tmp_path: Path
) -> None:
    city = prepare_city(database, persons=3, webhook_url=None)
    server = Server(database, log=tmp_path / "server.log").start()
    streams: list[Stream] = []
    try:
        receiver = Stream(server.base, city.tokens["receiver"])
        third = Stream(server.base, city.tokens["third"])
        command = Stream(server.base, city.tokens["command"])
        streams += [receiver, third, command]
        sender = auth(city.tokens["sender"])
        first = httpx.post(
            f"{server.base}/api/referrals",
            json={"person_id": city.person_ids[0], "evidence": "live-1"},
            headers=sender,
            timeout=PATIENT,
        ).json()["referral"]["id"]
        second = httpx.post(
            f"{server.base}/api/referrals",
            json={"person_id": city.person_ids[1], "evidence": "live-2", "to_district_code": THIRD},
            headers=sender,
            timeout=PATIENT,
        ).json()["referral"]["id"]
        got = receiver.next()
        assert got["topic"] == "referral.pushed"
        assert got["data"]["payload"]["referral_id"] == first
        assert got["data"]["payload"]["to_district"] == RECEIVER
        # The third district's first event is its own referral: it never saw the first one.
        assert third.next()["data"]["payload"]["referral_id"] == second
        assert [command.next()["data"]["payload"]["referral_id"] for _ in range(2)] == [
            first,
            second,
        ]
        replayed = Stream(server.base, city.tokens["receiver"], last_event_id="0")
        streams.append(replayed)
        assert replayed.next()["data"]["payload"]["referral_id"] == first
    finally:
        for stream in streams:
            stream.close()
        server.stop()


@pytest.mark.slow
def test_a_contact_living_in_another_district_is_in_its_inbox_and_stream_when_registered(
    database: str, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from tests.factories.people import next_national_id
    from tests.functional.outbox.live import SENDER

    city = prepare_city(database, persons=1, webhook_url=None)
    server = Server(database, log=tmp_path / "server.log").start()
    streams: list[Stream] = []
    try:
        live = Stream(server.base, city.tokens["receiver"])
        streams.append(live)
        case = httpx.post(
            f"{server.base}/api/cases",
            json={
                "person_id": city.person_ids[0],
                "classification": "confirmed",
                "detected_at": datetime.now(UTC).isoformat(),
                "report_district_code": SENDER,
            },
            headers=auth(city.tokens["command"]),
            timeout=PATIENT,
        )
        assert case.status_code == 201, case.text
        registered = httpx.post(
            f"{server.base}/api/cases/{case.json()['id']}/contacts",
            json={
                "national_id": next_national_id(),
                "name": "密接丙",
                "residence_district_code": RECEIVER,
                "exposure_kind": "household",
            },
            headers=auth(city.tokens["sender"]),
            timeout=PATIENT,
        )
        assert registered.status_code == 201, registered.text

        # When the registering request has returned: in the receiving district's inbox ...
        inbox = httpx.get(
            f"{server.base}/api/referrals",
            params={"box": "inbox"},
            headers=auth(city.tokens["receiver"]),
            timeout=PATIENT,
        ).json()["items"]
        (referral,) = [r for r in inbox if r["reason"] == "close_contact"]
        assert (referral["from_district_code"], referral["status"]) == (SENDER, "pushed")
        # ... in its stream (a stream opened now replays it from the outbox) ...
        replayed = Stream(server.base, city.tokens["receiver"], last_event_id="0")
        streams.append(replayed)
        while (event := replayed.next())["data"]["payload"].get("referral_id") != referral["id"]:
            pass
        assert event["topic"] == "referral.pushed"
        # ... and pushed live to the stream that was open while it was registered.
        while (event := live.next())["data"]["payload"].get("referral_id") != referral["id"]:
            pass
        assert event["topic"] == "referral.pushed"
    finally:
        for stream in streams:
            stream.close()
        server.stop()


@pytest.mark.slow
def test_the_kill_test(database: str, tmp_path: Path) -> None:
    """SIGKILL mid-way through 1,000 referrals: after a restart every referral exists once, every
    webhook was delivered at least once, and the receiver's deduplication makes it exactly once."""
    receiver = Receiver(secret="live-receiver-shared-secret").start()
    city = prepare_city(database, persons=REFERRALS, webhook_url=receiver.url)
    server = Server(database, log=tmp_path / "server.log").start()
    sender = auth(city.tokens["sender"])
    confirmed: dict[int, int] = {}
    killed_with: tuple[int, int] | None = None

    def create(client: httpx.Client, index: int) -> tuple[int, int | None]:
        # A district's system retries a failed request with the same cause: creation is
        # idempotent. (On SQLite a write request can meet another commit: "database is locked".)
        for _ in range(20):
            try:
                response = client.post(
                    "/api/referrals",
                    json={
                        "person_id": city.person_ids[index],
                        "reason": "pooled_positive",
                        "evidence": f"kill-test-tube-{index}",
                    },
                )
            except httpx.TransportError:
                if server.process is not None and server.process.poll() is None:
                    continue  # the server closed a connection after an error answer
                return index, None
            if response.status_code in (200, 201):
                return index, int(response.json()["referral"]["id"])
        return index, None

    try:
        with (
            httpx.Client(base_url=server.base, headers=sender, timeout=PATIENT) as client,
            # SQLite has one writer: concurrent requests mostly meet each other's commits
            # ("database is locked" on upgrading a read transaction), so one client posts there.
            ThreadPoolExecutor(max_workers=1 if database.startswith("sqlite") else 8) as pool,
        ):
            futures = [pool.submit(create, client, i) for i in range(REFERRALS)]
            for future in as_completed(futures):
                index, referral_id = future.result()
                if referral_id is not None:
                    confirmed[index] = referral_id
                if killed_with is None and len(confirmed) >= REFERRALS // 3:
                    # Kill while requests are in flight and webhooks are being sent.
                    server.kill()
                    killed_with = (len(confirmed), len(receiver.processed))
        assert killed_with is not None
        assert killed_with[0] < REFERRALS and killed_with[1] < REFERRALS

        server.start()
        missing = [i for i in range(REFERRALS) if i not in confirmed]
        assert missing, "the kill should have cut some requests"
        with httpx.Client(base_url=server.base, headers=sender, timeout=PATIENT) as client:
            for index in missing:
                index, referral_id = create(client, index)
                assert referral_id is not None
                confirmed[index] = referral_id

        engine = build_engine(database)
        deadline = time.monotonic() + PATIENCE  # leases of the killed process expire within 30 s
        while time.monotonic() < deadline and len(receiver.processed) < REFERRALS:
            time.sleep(0.2)

        def undelivered_now() -> int:
            with Session(engine) as session:
                return (
                    session.scalar(
                        select(func.count(Delivery.id)).where(Delivery.status != "delivered")
                    )
                    or 0
                )

        # The receiver has answered every message; the dispatcher records the answers just after.
        while time.monotonic() < deadline and undelivered_now():
            time.sleep(0.2)
        with Session(engine) as session:
            referrals = session.scalar(select(func.count(Referral.id)))
            people = session.scalar(select(func.count(func.distinct(Referral.person_id))))
            keys = set(
                session.scalars(
                    select(OutboxMessage.idempotency_key).where(
                        OutboxMessage.topic == "referral.pushed"
                    )
                )
            )
            undelivered = session.scalar(
                select(func.count(Delivery.id)).where(Delivery.status != "delivered")
            )
        engine.dispose()
        assert referrals == people == REFERRALS
        assert len(set(confirmed.values())) == REFERRALS
        assert len(keys) == REFERRALS
        counts = receiver.counts()
        assert keys <= set(counts), "every webhook delivered at least once"
        assert set(receiver.processed) == keys, "exactly once after deduplication"
        assert all(r.signature_valid for r in receiver.requests)
        assert undelivered == 0
        print(
            f"killed after {killed_with[0]} confirmed / {killed_with[1]} delivered; "
            f"{len(receiver.requests)} webhook requests for {len(keys)} messages "
            f"({sum(c - 1 for c in counts.values())} repeats, deduplicated)"
        )
    finally:
        server.stop()
        receiver.stop()
