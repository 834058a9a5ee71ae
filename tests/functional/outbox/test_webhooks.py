"""Signed webhooks to a district's real HTTP receiver: the signature checks out, a failing
receiver is retried with growing delays persisted in the row (a new dispatcher continues the
count), attempts run out into a visible dead letter that can be queued again."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories.auth import command_user, district_user
from tests.factories.referrals import RECEIVER, SENDER, district_id, make_referral
from tests.functional.outbox.receiver import Receiver
from xietong.core.clock import FixedClock
from xietong.core.principal import SYSTEM
from xietong.outbox import queue, service
from xietong.outbox.dispatcher import Dispatcher
from xietong.outbox.models import Delivery, OutboxMessage, WebhookEndpoint
from xietong.outbox.retry import RetrySchedule
from xietong.outbox.schemas import EndpointCreate
from xietong.people.protection import PersonalDataProtector

SECRET = "district-108-shared-secret"
NOW = datetime(2022, 11, 14, 12, 0, tzinfo=UTC)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver(secret=SECRET).start()
    yield started
    started.stop()


def endpoint_for(
    session: Session, protector: PersonalDataProtector, url: str, code: str | None = RECEIVER
) -> WebhookEndpoint:
    endpoint, _ = service.create_endpoint(
        session,
        principal=SYSTEM,
        protector=protector,
        endpoint_in=EndpointCreate(url=url, district_code=code, secret=SECRET),  # type: ignore[arg-type], now=datetime.now(UTC)
    )
    return endpoint


def dispatcher_on(
    session: Session,
    protector: PersonalDataProtector,
    clock: FixedClock,
    schedule: RetrySchedule | None = None,
) -> Dispatcher:
    @contextmanager
    def work() -> Iterator[Session]:
        with session.begin_nested():
            yield session

    return Dispatcher(
        work=work,
        protector=protector,
        clock=clock,
        schedule=schedule or RetrySchedule(jitter=0.0),
        rng=random.Random(1),
    )


def delivery_of(session: Session, key: str) -> Delivery:
    session.expire_all()
    return session.scalars(
        select(Delivery)
        .join(OutboxMessage, OutboxMessage.id == Delivery.message_id)
        .where(OutboxMessage.idempotency_key == key)
    ).one()


def test_a_referral_reaches_the_districts_receiver_signed(
    session: Session, protector: PersonalDataProtector, receiver: Receiver
) -> None:
    endpoint_for(session, protector, receiver.url)
    referral = make_referral(session, protector)
    dispatcher = dispatcher_on(session, protector, FixedClock(NOW))
    assert dispatcher.deliver_due() == 1
    dispatcher.close()
    (request,) = receiver.requests
    assert request.signature_valid and request.topic == "referral.pushed" and request.attempt == 1
    assert request.body["payload"]["referral_id"] == referral.id
    assert request.body["payload"]["to_district"] == RECEIVER
    assert request.key == request.body["idempotency_key"]
    delivery = delivery_of(session, request.key)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)
    assert session.get(OutboxMessage, delivery.message_id).status == "delivered"  # type: ignore[union-attr]


def test_a_wrong_secret_is_refused_by_the_receiver_and_retried(
    session: Session, protector: PersonalDataProtector, receiver: Receiver
) -> None:
    endpoint = endpoint_for(session, protector, receiver.url)
    endpoint.secret_enc = protector.encrypt("not-the-shared-secret")
    make_referral(session, protector)
    dispatcher = dispatcher_on(session, protector, FixedClock(NOW))
    dispatcher.deliver_due()
    dispatcher.close()
    (request,) = receiver.requests
    assert not request.signature_valid
    delivery = delivery_of(session, request.key)
    assert (delivery.status, delivery.last_status_code) == ("pending", 401)


def test_a_failing_receiver_is_retried_with_growing_delays_until_it_answers(
    session: Session, protector: PersonalDataProtector, receiver: Receiver
) -> None:
    endpoint_for(session, protector, receiver.url)
    make_referral(session, protector)
    receiver.fail_next = 3
    clock = FixedClock(NOW)
    dispatcher = dispatcher_on(session, protector, clock)
    delays = []
    for _ in range(3):
        assert dispatcher.deliver_due() == 1
        delivery = delivery_of(session, receiver.requests[-1].key)
        assert delivery.status == "pending" and delivery.leased_until is None
        delays.append(delivery.next_attempt_at - clock.now())
        assert dispatcher.deliver_due() == 0  # not due yet
        clock.set(delivery.next_attempt_at)
    assert delays == [timedelta(seconds=5), timedelta(seconds=10), timedelta(seconds=20)]
    assert dispatcher.deliver_due() == 1
    dispatcher.close()
    assert [r.attempt for r in receiver.requests] == [1, 2, 3, 4]
    assert len({r.key for r in receiver.requests}) == 1
    assert all(r.signature_valid for r in receiver.requests)
    assert delivery_of(session, receiver.requests[0].key).status == "delivered"
    assert len(receiver.processed) == 1


def test_a_restarted_dispatcher_continues_the_persisted_attempts(
    session: Session, protector: PersonalDataProtector, receiver: Receiver
) -> None:
    endpoint_for(session, protector, receiver.url)
    make_referral(session, protector)
    receiver.fail_next = 2
    clock = FixedClock(NOW)
    first = dispatcher_on(session, protector, clock)
    first.deliver_due()
    clock.advance(timedelta(minutes=1))
    first.deliver_due()
    first.close()
    clock.advance(timedelta(minutes=1))
    second = dispatcher_on(session, protector, clock)
    assert second.deliver_due() == 1
    second.close()
    assert [r.attempt for r in receiver.requests] == [1, 2, 3]
    assert delivery_of(session, receiver.requests[0].key).status == "delivered"


def test_a_delivery_leased_by_a_dead_dispatcher_is_sent_again_after_the_lease(
    session: Session, protector: PersonalDataProtector, receiver: Receiver
) -> None:
    endpoint_for(session, protector, receiver.url)
    make_referral(session, protector)
    (claimed,) = queue.claim_due_deliveries(
        session, now=NOW, lease=timedelta(seconds=30), limit=10
    )  # ... and the process dies before sending
    clock = FixedClock(NOW + timedelta(seconds=10))
    dispatcher = dispatcher_on(session, protector, clock)
    assert dispatcher.deliver_due() == 0
    clock.set(NOW + timedelta(seconds=31))
    assert dispatcher.deliver_due() == 1
    dispatcher.close()
    assert receiver.requests[0].attempt == 2
    # A late answer from the dead claim does not overwrite the newer outcome.
    late = queue.DeliveryOutcome(
        delivery_id=claimed.id,
        lease=claimed.lease,
        ok=False,
        status_code=500,
        error="late",
        retry_at=NOW,
    )
    assert queue.record_outcomes(session, outcomes=[late], now=NOW + timedelta(minutes=1)) == 0
    assert delivery_of(session, receiver.requests[0].key).status == "delivered"


def test_attempts_run_out_into_a_dead_letter_that_can_be_queued_again(
    app_client: TestClient,
    session: Session,
    protector: PersonalDataProtector,
    receiver: Receiver,
) -> None:
    endpoint_for(session, protector, receiver.url)
    make_referral(session, protector)
    receiver.fail_always = True
    clock = FixedClock(NOW)
    dispatcher = dispatcher_on(session, protector, clock, RetrySchedule(max_attempts=3, jitter=0))
    for _ in range(5):
        dispatcher.deliver_due()
        clock.advance(timedelta(hours=1))
    assert len(receiver.requests) == 3
    key = receiver.requests[0].key
    delivery = delivery_of(session, key)
    assert (delivery.status, delivery.attempts) == ("dead", 3)
    assert "HTTP 500" in (delivery.last_error or "")
    assert session.get(OutboxMessage, delivery.message_id).status == "dead"  # type: ignore[union-attr]

    _, token = district_user(session, RECEIVER)
    headers = {"Authorization": f"Bearer {token}"}
    dead = app_client.get("/api/outbox/dead-letters", headers=headers).json()
    assert [item["idempotency_key"] for item in dead["items"]] == [key]
    assert dead["items"][0]["attempts"] == 3
    _, other = district_user(session, SENDER)
    other_view = app_client.get(
        "/api/outbox/dead-letters", headers={"Authorization": f"Bearer {other}"}
    ).json()
    assert other_view["total"] == 0
    retried = app_client.post(f"/api/outbox/dead-letters/{delivery.id}/retry", headers=headers)
    assert retried.status_code == 200 and retried.json()["status"] == "pending"
    receiver.fail_always = False
    clock.set(delivery_of(session, key).next_attempt_at)
    assert dispatcher.deliver_due() == 1
    dispatcher.close()
    assert delivery_of(session, key).status == "delivered"
    assert len(receiver.processed) == 1


def test_endpoints_receive_what_is_addressed_to_their_district_and_topics(
    session: Session, protector: PersonalDataProtector, receiver: Receiver
) -> None:
    mine = endpoint_for(session, protector, receiver.url, RECEIVER)
    city = endpoint_for(session, protector, receiver.url, None)
    elsewhere = endpoint_for(session, protector, receiver.url, "500241")
    filtered = endpoint_for(session, protector, receiver.url, RECEIVER)
    filtered.topics = ["zones."]
    inactive = endpoint_for(session, protector, receiver.url, RECEIVER)
    inactive.active = False
    session.flush()
    make_referral(session, protector)
    endpoints = set(
        session.scalars(
            select(Delivery.endpoint_id).where(
                Delivery.endpoint_id.in_([mine.id, city.id, elsewhere.id, filtered.id, inactive.id])
            )
        )
    )
    assert endpoints == {mine.id, city.id}


def test_enqueue_is_idempotent_on_its_key(session: Session) -> None:
    for _ in range(3):
        service.enqueue(
            session,
            topic="referral.pushed",
            payload={"at": NOW},
            audience_district_ids=[district_id(session, RECEIVER), None],
            idempotency_key="test:once",
            now=datetime.now(UTC),
        )
    rows = session.scalars(
        select(OutboxMessage).where(OutboxMessage.idempotency_key == "test:once")
    ).all()
    assert len(rows) == 1 and rows[0].payload == {"at": NOW.isoformat()}


def test_the_endpoint_api_shows_the_secret_once(
    app_client: TestClient, session: Session, receiver: Receiver
) -> None:
    _, token = district_user(session, RECEIVER)
    headers = {"Authorization": f"Bearer {token}"}
    created = app_client.post(
        "/api/outbox/endpoints",
        json={"url": receiver.url, "description": "区指挥部系统"},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["district_code"] == RECEIVER and len(created.json()["secret"]) >= 32
    listed = app_client.get("/api/outbox/endpoints", headers=headers).json()
    assert [e["id"] for e in listed] == [created.json()["id"]] and "secret" not in listed[0]
    _, other = district_user(session, SENDER)
    foreign = app_client.post(
        "/api/outbox/endpoints",
        json={"url": receiver.url, "district_code": RECEIVER},
        headers={"Authorization": f"Bearer {other}"},
    )
    assert foreign.status_code == 404
    _, command = command_user(session)
    summary = app_client.get(
        "/api/outbox/summary", headers={"Authorization": f"Bearer {command}"}
    ).json()
    assert "deliveries" in summary and "messages" in summary
