"""A plan is proposed, approved by the command centre, and becomes transfer orders that the
districts on both ends see and acknowledge; refused transitions change nothing; each step reaches
the districts concerned through the outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories.auth import command_user, district_user
from tests.factories.resources import (
    DAY,
    JIULONGPO,
    NANAN,
    SHAPINGBA,
    YUZHONG,
    facility,
    plan_request,
    propose,
)
from xietong.areas import service as areas_service
from xietong.auth.models import AuditEntry
from xietong.core.errors import Conflict, NotFound, PermissionDenied
from xietong.core.principal import SYSTEM
from xietong.mutual_aid.orders import service as transfer_orders
from xietong.mutual_aid.plans import service as flows
from xietong.outbox.models import OutboxMessage


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def district_id(session: Session, code: str) -> int:
    return areas_service.district_id_by_code(session)[code]


def messages(session: Session, topic: str) -> list[OutboxMessage]:
    return list(
        session.scalars(
            select(OutboxMessage).where(OutboxMessage.topic == topic).order_by(OutboxMessage.id)
        )
    )


@pytest.fixture
def proposed(session: Session) -> int:
    """沙坪坝 and 渝中 short of beds; 九龙坡 and 南岸 with room."""
    facility(session, district_code=SHAPINGBA, beds=0)
    facility(session, district_code=YUZHONG, beds=0)
    facility(session, district_code=JIULONGPO, beds=100)
    facility(session, district_code=NANAN, beds=100)
    plan = propose(session, plan_request(contacts={SHAPINGBA: [30], YUZHONG: [20]}))
    assert plan.id is not None and len(plan.transfers) == 2
    return plan.id


def test_a_proposed_plan_is_announced_to_the_command_centre(
    session: Session, proposed: int
) -> None:
    (message,) = messages(session, "resources.plan.proposed")
    assert message.audience == [None]
    assert message.payload["plan_id"] == proposed


def test_approval_turns_each_transfer_into_an_order_both_districts_are_told_of(
    session: Session, proposed: int
) -> None:
    summary, orders = flows.approve_plan(
        session, principal=SYSTEM, plan_id=proposed, note="同意", now=datetime.now(UTC)
    )
    assert summary.status == "approved" and summary.decided_by == "system"
    assert {(o.from_district_code, o.to_district_code, o.amount, o.status) for o in orders} == {
        (SHAPINGBA, JIULONGPO, 30, "issued"),
        (YUZHONG, NANAN, 20, "issued"),
    }
    issued = messages(session, "resources.transfer_order.issued")
    assert sorted(tuple(sorted(m.audience)) for m in issued) == sorted(
        [
            tuple(sorted([district_id(session, SHAPINGBA), district_id(session, JIULONGPO)])),
            tuple(sorted([district_id(session, YUZHONG), district_id(session, NANAN)])),
        ]
    )
    assert [None] in [m.audience for m in messages(session, "resources.plan.approved")]
    audit = session.scalars(
        select(AuditEntry).where(
            AuditEntry.entity == "resources_plan", AuditEntry.entity_id == str(proposed)
        )
    ).one()
    assert (audit.action, audit.reason) == ("approve", "同意")


def test_each_district_is_told_of_the_approval_with_only_its_own_orders(
    session: Session, proposed: int
) -> None:
    _, orders = flows.approve_plan(
        session, principal=SYSTEM, plan_id=proposed, now=datetime.now(UTC)
    )
    approved = messages(session, "resources.plan.approved")
    by_audience = {tuple(m.audience): m.payload["orders"] for m in approved}
    assert by_audience[(None,)] == sorted(o.id for o in orders)
    for code in (SHAPINGBA, JIULONGPO, YUZHONG, NANAN):
        own = sorted(o.id for o in orders if code in (o.from_district_code, o.to_district_code))
        assert by_audience[(district_id(session, code),)] == own, code
    assert len(approved) == 5


def test_only_the_command_centre_approves(session: Session, proposed: int) -> None:
    coordinator, _ = district_user(session, JIULONGPO)
    with pytest.raises(PermissionDenied):
        flows.approve_plan(session, principal=coordinator, plan_id=proposed, now=datetime.now(UTC))
    assert flows.get_plan(session, principal=SYSTEM, plan_id=proposed).status == "proposed"


def test_a_plan_is_approved_once_and_a_rejected_plan_never(session: Session, proposed: int) -> None:
    flows.approve_plan(session, principal=SYSTEM, plan_id=proposed, now=datetime.now(UTC))
    with pytest.raises(Conflict, match="approved"):
        flows.approve_plan(session, principal=SYSTEM, plan_id=proposed, now=datetime.now(UTC))
    with pytest.raises(Conflict):
        flows.reject_plan(session, principal=SYSTEM, plan_id=proposed, now=datetime.now(UTC))
    other = propose(
        session, plan_request(contacts={SHAPINGBA: [5]}, first_day=DAY + timedelta(days=30))
    )
    assert other.id is not None
    flows.reject_plan(
        session, principal=SYSTEM, plan_id=other.id, note="需求已变化", now=datetime.now(UTC)
    )
    with pytest.raises(Conflict, match="rejected"):
        flows.approve_plan(session, principal=SYSTEM, plan_id=other.id, now=datetime.now(UTC))
    orders, _ = transfer_orders.list_orders(session, principal=SYSTEM, plan_id=other.id)
    assert orders == []


def test_approving_one_plan_supersedes_other_proposals_for_the_same_days(
    session: Session, proposed: int
) -> None:
    rival = propose(session, plan_request(contacts={SHAPINGBA: [10]}))
    assert rival.id is not None
    flows.approve_plan(session, principal=SYSTEM, plan_id=proposed, now=datetime.now(UTC))
    assert flows.get_plan(session, principal=SYSTEM, plan_id=rival.id).status == "superseded"
    with pytest.raises(Conflict):
        flows.approve_plan(session, principal=SYSTEM, plan_id=rival.id, now=datetime.now(UTC))


def test_an_unknown_plan_is_not_found(session: Session) -> None:
    with pytest.raises(NotFound):
        flows.approve_plan(session, principal=SYSTEM, plan_id=987654, now=datetime.now(UTC))


def test_both_ends_acknowledge_and_the_order_is_acknowledged(
    app_client: TestClient, session: Session, proposed: int
) -> None:
    _, orders = flows.approve_plan(
        session, principal=SYSTEM, plan_id=proposed, now=datetime.now(UTC)
    )
    order = next(o for o in orders if o.from_district_code == SHAPINGBA)
    _, sender = district_user(session, SHAPINGBA)
    _, receiver = district_user(session, JIULONGPO)

    first = app_client.post(f"/api/resources/orders/{order.id}/acknowledge", headers=auth(sender))
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "partly_acknowledged"
    assert first.json()["sender_acknowledged_by"].startswith("district_coordinator-500106")
    assert messages(session, "resources.transfer_order.acknowledged") == []

    again = app_client.post(f"/api/resources/orders/{order.id}/acknowledge", headers=auth(sender))
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_acknowledged"

    second = app_client.post(
        f"/api/resources/orders/{order.id}/acknowledge", headers=auth(receiver)
    )
    assert second.status_code == 200
    assert second.json()["status"] == "acknowledged"
    (done,) = messages(session, "resources.transfer_order.acknowledged")
    assert None in done.audience and done.payload["id"] == order.id


def test_a_district_sees_only_the_orders_concerning_it(
    app_client: TestClient, session: Session, proposed: int
) -> None:
    _, orders = flows.approve_plan(
        session, principal=SYSTEM, plan_id=proposed, now=datetime.now(UTC)
    )
    theirs = next(o for o in orders if o.from_district_code == YUZHONG)
    _, token = district_user(session, JIULONGPO)
    listed = app_client.get("/api/resources/orders", headers=auth(token)).json()
    assert listed["total"] == 1
    assert listed["items"][0]["to_district_code"] == JIULONGPO
    hidden = app_client.get(f"/api/resources/orders/{theirs.id}", headers=auth(token))
    assert hidden.status_code == 404
    refused = app_client.post(f"/api/resources/orders/{theirs.id}/acknowledge", headers=auth(token))
    assert refused.status_code == 404
    _, city = command_user(session)
    assert app_client.get("/api/resources/orders", headers=auth(city)).json()["total"] == 2


def test_the_command_centre_does_not_acknowledge_for_a_district(
    session: Session, proposed: int
) -> None:
    _, orders = flows.approve_plan(
        session, principal=SYSTEM, plan_id=proposed, now=datetime.now(UTC)
    )
    with pytest.raises(PermissionDenied):
        transfer_orders.acknowledge_order(
            session, principal=SYSTEM, order_id=orders[0].id, now=datetime.now(UTC)
        )


def test_a_cancelled_order_can_be_neither_acknowledged_nor_cancelled_again(
    session: Session, proposed: int
) -> None:
    _, orders = flows.approve_plan(
        session, principal=SYSTEM, plan_id=proposed, now=datetime.now(UTC)
    )
    order = next(o for o in orders if o.from_district_code == SHAPINGBA)
    cancelled = transfer_orders.cancel_order(
        session, principal=SYSTEM, order_id=order.id, note="已就地解决", now=datetime.now(UTC)
    )
    assert cancelled.status == "cancelled"
    (told,) = messages(session, "resources.transfer_order.cancelled")
    assert district_id(session, SHAPINGBA) in told.audience
    coordinator, _ = district_user(session, JIULONGPO)
    with pytest.raises(Conflict, match="cancelled"):
        transfer_orders.acknowledge_order(
            session, principal=coordinator, order_id=order.id, now=datetime.now(UTC)
        )
    with pytest.raises(Conflict):
        transfer_orders.cancel_order(
            session, principal=SYSTEM, order_id=order.id, now=datetime.now(UTC)
        )
    with pytest.raises(PermissionDenied):
        transfer_orders.cancel_order(
            session, principal=coordinator, order_id=orders[1].id, now=datetime.now(UTC)
        )


def test_the_workflow_through_the_api(
    app_client: TestClient, session: Session, proposed: int
) -> None:
    _, city = command_user(session)
    _, district = district_user(session, SHAPINGBA)
    refused = app_client.post(f"/api/resources/plans/{proposed}/approve", headers=auth(district))
    assert refused.status_code == 403
    approved = app_client.post(
        f"/api/resources/plans/{proposed}/approve", headers=auth(city), json={"note": "同意"}
    )
    assert approved.status_code == 200, approved.text
    assert len(approved.json()) == 2
    twice = app_client.post(f"/api/resources/plans/{proposed}/approve", headers=auth(city))
    assert twice.status_code == 409
    assert twice.json()["error"]["code"] == "plan_not_proposed"
    plans = app_client.get(
        "/api/resources/plans", headers=auth(district), params={"status": "approved"}
    ).json()
    assert [p["id"] for p in plans["items"]] == [proposed]
    plan = app_client.get(f"/api/resources/plans/{proposed}", headers=auth(district)).json()
    assert [t["from_district_code"] for t in plan["transfers"]] == [SHAPINGBA]
