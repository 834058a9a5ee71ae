"""Help requests and offers between districts: seen city-wide, told to those concerned, matched
by the command centre into a transfer order that both districts acknowledge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories.auth import command_user, district_user, make_user
from tests.factories.resources import DAY, JIULONGPO, NANAN, SHAPINGBA
from xietong.areas import service as areas_service
from xietong.core.errors import Conflict, PermissionDenied, ValidationFailed
from xietong.core.principal import SYSTEM, Role
from xietong.mutual_aid.offers import service as offers
from xietong.mutual_aid.orders import service as transfer_orders
from xietong.mutual_aid.schemas import HelpOfferIn, HelpRequestIn, MatchIn
from xietong.outbox.models import OutboxMessage

CQ = "centralised_quarantine_bed"
LAST = DAY + timedelta(days=4)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def ask(session: Session, code: str = SHAPINGBA, amount: int = 200) -> int:
    principal, _ = district_user(session, code)
    request = offers.open_request(
        session,
        principal=principal,
        request_in=HelpRequestIn(resource=CQ, amount=amount, first_day=DAY, last_day=LAST),
        now=datetime.now(UTC),
    )
    return request.id


def offer(session: Session, code: str, amount: int, request_id: int | None = None) -> int:
    principal, _ = district_user(session, code)
    return offers.open_offer(
        session,
        principal=principal,
        offer_in=HelpOfferIn(
            resource=CQ,
            amount=amount,
            first_day=DAY + timedelta(days=1),
            last_day=LAST,
            request_id=request_id,
        ),
        now=datetime.now(UTC),
    ).id


def test_a_district_asks_for_beds_and_the_command_centre_is_told(
    app_client: TestClient, session: Session
) -> None:
    _, token = district_user(session, SHAPINGBA)
    response = app_client.post(
        "/api/resources/requests",
        headers=auth(token),
        json={
            "resource": CQ,
            "amount": 300,
            "first_day": DAY.isoformat(),
            "last_day": LAST.isoformat(),
            "note": "密接激增，隔离房间不足",
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["district_code"] == SHAPINGBA
    assert response.json()["status"] == "open"
    message = session.scalars(
        select(OutboxMessage).where(OutboxMessage.topic == "resources.help_request.opened")
    ).one()
    assert None in message.audience
    # Every district sees the open requests, to offer what it can.
    _, other = district_user(session, NANAN)
    listed = app_client.get(
        "/api/resources/requests", headers=auth(other), params={"status": "open"}
    ).json()
    assert [r["amount"] for r in listed["items"]] == [300]


def test_a_district_may_not_ask_or_offer_in_another_districts_name(session: Session) -> None:
    principal, _ = district_user(session, SHAPINGBA)
    with pytest.raises(PermissionDenied):
        offers.open_request(
            session,
            principal=principal,
            request_in=HelpRequestIn(
                district_code=NANAN, resource=CQ, amount=1, first_day=DAY, last_day=DAY
            ),
            now=datetime.now(UTC),
        )
    viewer, _ = make_user(session, role=Role.viewer, district_code=NANAN)
    with pytest.raises(PermissionDenied):
        offers.open_offer(
            session,
            principal=viewer,
            offer_in=HelpOfferIn(resource=CQ, amount=1, first_day=DAY, last_day=DAY),
            now=datetime.now(UTC),
        )


def test_an_offer_answering_a_request_reaches_the_asking_district(session: Session) -> None:
    request_id = ask(session)
    offer(session, JIULONGPO, 120, request_id=request_id)
    message = session.scalars(
        select(OutboxMessage).where(OutboxMessage.topic == "resources.help_offer.opened")
    ).one()
    ids = areas_service.district_id_by_code(session)
    assert set(message.audience) == {None, ids[JIULONGPO], ids[SHAPINGBA]}


def test_an_offer_must_answer_an_open_request_for_the_same_resource(session: Session) -> None:
    request_id = ask(session)
    principal, _ = district_user(session, JIULONGPO)
    with pytest.raises(ValidationFailed):
        offers.open_offer(
            session,
            principal=principal,
            offer_in=HelpOfferIn(
                resource="lab_tube", amount=5, first_day=DAY, last_day=DAY, request_id=request_id
            ),
            now=datetime.now(UTC),
        )


def test_matching_issues_an_order_and_fills_the_request_and_the_offer(session: Session) -> None:
    request_id = ask(session, amount=200)
    first = offer(session, JIULONGPO, 120)
    second = offer(session, NANAN, 150)
    order = offers.match(
        session,
        principal=SYSTEM,
        request_id=request_id,
        match_in=MatchIn(offer_id=first),
        now=datetime.now(UTC),
    )
    assert (order.from_district_code, order.to_district_code, order.amount) == (
        SHAPINGBA,
        JIULONGPO,
        120,
    )
    assert order.day == DAY + timedelta(days=1)  # the first day both are open
    assert order.distance_km == 21.8 and order.status == "issued"
    rest = offers.match(
        session,
        principal=SYSTEM,
        request_id=request_id,
        match_in=MatchIn(offer_id=second),
        now=datetime.now(UTC),
    )
    assert rest.amount == 80
    requests, _ = offers.list_requests(session)
    offered, _ = offers.list_offers(session)
    assert [(r.matched, r.status) for r in requests] == [(200, "met")]
    assert {o.id: (o.taken, o.status) for o in offered} == {
        first: (120, "taken"),
        second: (80, "open"),
    }
    # The order is acknowledged like a plan's, by both ends.
    sender, _ = district_user(session, SHAPINGBA)
    receiver, _ = district_user(session, JIULONGPO)
    transfer_orders.acknowledge_order(
        session, principal=sender, order_id=order.id, now=datetime.now(UTC)
    )
    done = transfer_orders.acknowledge_order(
        session, principal=receiver, order_id=order.id, now=datetime.now(UTC)
    )
    assert done.status == "acknowledged" and done.help_request_id == request_id


def test_refused_matches_change_nothing(session: Session) -> None:
    request_id = ask(session, amount=50)
    own = offer(session, SHAPINGBA, 10)
    other = offer(session, JIULONGPO, 30)
    coordinator, _ = district_user(session, JIULONGPO)
    with pytest.raises(PermissionDenied):
        offers.match(
            session,
            principal=coordinator,
            request_id=request_id,
            match_in=MatchIn(offer_id=other),
            now=datetime.now(UTC),
        )
    with pytest.raises(Conflict, match="asking district"):
        offers.match(
            session,
            principal=SYSTEM,
            request_id=request_id,
            match_in=MatchIn(offer_id=own),
            now=datetime.now(UTC),
        )
    with pytest.raises(Conflict, match="amount"):
        offers.match(
            session,
            principal=SYSTEM,
            request_id=request_id,
            match_in=MatchIn(offer_id=other, amount=40),
            now=datetime.now(UTC),
        )
    with pytest.raises(Conflict, match="day"):
        offers.match(
            session,
            principal=SYSTEM,
            request_id=request_id,
            match_in=MatchIn(offer_id=other, day=LAST + timedelta(days=1)),
            now=datetime.now(UTC),
        )
    offers.withdraw_request(
        session,
        principal=district_user(session, SHAPINGBA)[0],
        request_id=request_id,
        now=datetime.now(UTC),
    )
    with pytest.raises(Conflict, match="withdrawn"):
        offers.match(
            session,
            principal=SYSTEM,
            request_id=request_id,
            match_in=MatchIn(offer_id=other),
            now=datetime.now(UTC),
        )
    assert transfer_orders.list_orders(session, principal=SYSTEM)[1] == 0
    with pytest.raises(Conflict):
        offers.withdraw_request(
            session, principal=SYSTEM, request_id=request_id, now=datetime.now(UTC)
        )


def test_matching_through_the_api(app_client: TestClient, session: Session) -> None:
    request_id = ask(session, amount=20)
    offer_id = offer(session, JIULONGPO, 20)
    _, city = command_user(session)
    response = app_client.post(
        f"/api/resources/requests/{request_id}/match",
        headers=auth(city),
        json={"offer_id": offer_id},
    )
    assert response.status_code == 201, response.text
    _, receiver = district_user(session, JIULONGPO)
    orders = app_client.get("/api/resources/orders", headers=auth(receiver)).json()
    assert [o["id"] for o in orders["items"]] == [response.json()["id"]]
    withdrawn = app_client.post(
        f"/api/resources/offers/{offer_id}/withdraw", headers=auth(receiver)
    )
    assert withdrawn.status_code == 409  # already taken in full
