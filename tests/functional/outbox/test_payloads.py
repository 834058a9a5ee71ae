"""What the outbox stores of a payload: the JSON text the column's own type writes (dates as ISO
text, non-ASCII escaped), whether one message is enqueued or many at once, so that a payload
encoded once by the outbox reads back as the same row."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from tests.factories.referrals import RECEIVER, district_id
from xietong.outbox import service
from xietong.outbox.models import OutboxMessage

NOW = datetime(2022, 11, 14, 12, 0, tzinfo=UTC)

PAYLOAD: dict[str, Any] = {
    "step": "lifting_proposed",
    "district_code": "500108",
    "day": date(2022, 11, 19),
    "at": NOW,
    "reason": "5 个连续无新增感染日 (policy 2022-11-11)",
    "areas": [
        {"area_id": 7, "building_code": "500108001001001", "address_label": "南岸区 1 号楼"},
        {"area_id": 9, "building_code": None, "address_label": None},
    ],
    "score": 0.25,
    "flags": (True, False, None),
}


def _as_the_column_writes(session: Session, payload: dict[str, Any], key: str) -> None:
    """The oracle: a row written by the ORM through the column's JSON type, from the payload
    with its dates already as text."""
    ready = {
        name: value.isoformat() if isinstance(value, date) else value
        for name, value in payload.items()
    }
    session.add(
        OutboxMessage(
            topic="zones.lifting_proposed",
            payload=ready,
            audience=[district_id(session, RECEIVER)],
            idempotency_key=key,
            created_at=NOW,
            status=service.PENDING,
            attempts=0,
            next_attempt_at=NOW,
        )
    )
    session.flush()


def _stored(session: Session, key: str) -> tuple[str, dict[str, Any]]:
    """The row's payload as the database holds it (text) and as it reads back."""
    text_form = session.scalar(
        select(cast(OutboxMessage.payload, String)).where(OutboxMessage.idempotency_key == key)
    )
    loaded = session.scalar(
        select(OutboxMessage.payload).where(OutboxMessage.idempotency_key == key)
    )
    assert text_form is not None and loaded is not None
    return text_form, loaded


@pytest.mark.parametrize("many", [False, True], ids=["enqueue", "enqueue_many"])
def test_a_payload_is_stored_as_the_columns_json_type_would_store_it(
    session: Session, many: bool
) -> None:
    _as_the_column_writes(session, PAYLOAD, "test:oracle")
    audience = [district_id(session, RECEIVER), None]
    if many:
        service.enqueue_many(
            session,
            messages=[
                service.Message(
                    topic="zones.lifting_proposed",
                    payload={**PAYLOAD, "page": page},
                    audience_district_ids=audience,
                    idempotency_key=f"test:page:{page}",
                )
                for page in range(3)
            ],
            now=NOW,
        )
        keys = [f"test:page:{page}" for page in range(3)]
        expected = [{**PAYLOAD, "page": page} for page in range(3)]
        for page, payload in enumerate(expected):
            _as_the_column_writes(session, payload, f"test:oracle:{page}")
        oracles = [f"test:oracle:{page}" for page in range(3)]
    else:
        service.enqueue(
            session,
            topic="zones.lifting_proposed",
            payload=PAYLOAD,
            audience_district_ids=audience,
            idempotency_key="test:one",
            now=NOW,
        )
        keys, oracles = ["test:one"], ["test:oracle"]
    for key, oracle in zip(keys, oracles, strict=True):
        assert _stored(session, key) == _stored(session, oracle)
    _, loaded = _stored(session, keys[0])
    assert loaded["day"] == "2022-11-19" and loaded["at"] == NOW.isoformat()
    assert loaded["flags"] == [True, False, None]
    assert loaded["reason"] == PAYLOAD["reason"]


def test_a_payload_the_json_encoder_cannot_take_is_refused_by_name(session: Session) -> None:
    with pytest.raises(TypeError, match="payload: set is not JSON serialisable"):
        service.enqueue(
            session,
            topic="zones.lifting_proposed",
            payload={"areas": {1, 2}},
            audience_district_ids=[None],
            idempotency_key="test:refused",
            now=NOW,
        )
