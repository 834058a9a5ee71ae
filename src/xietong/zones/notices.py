"""The notices zones sends through the outbox: each step someone must act on, to the district
(and the command centre for activations and liftings), in the transaction of the step, with an
idempotency key naming the area, the step and its time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from xietong.areas import service as areas_service
from xietong.zones import adapters

# Areas listed in one notice of liftings due: a district's list stays a readable size.
_NOTICE_PAGE = 2_000

# Steps someone must act on go to the district; activations and liftings also to the command
# centre, whose dashboard shows the city's locked buildings.
_TOPICS = {
    "proposed": ("zones.proposed", False),
    "designated": ("zones.activated", True),
    "approved": ("zones.activated", True),
    "rejected": ("zones.rejected", False),
    "lifting_rejected": ("zones.lifting_rejected", False),
    "lifting_withdrawn": ("zones.lifting_withdrawn", False),
    "lifted": ("zones.lifted", True),
}

# Every topic a risk area's life sends (dashboards listen for them).
TOPICS = (*dict.fromkeys(topic for topic, _ in _TOPICS.values()), "zones.lifting_proposed")


def send_step(
    session: Session,
    *,
    step: str,
    area_id: int,
    district_id: int,
    place: areas_service.BuildingPlace | None,
    at: datetime,
    day: date,
    policy_version: str,
    reason: str | None,
) -> None:
    """Tell the district (and for some steps the command centre) about one step of an area."""
    topic, to_command_centre = _TOPICS[step]
    adapters.notify(
        session,
        topic=topic,
        payload={
            "area_id": area_id,
            "step": step,
            "building_code": place.code if place else None,
            "address_label": place.address_label if place else None,
            "district_code": areas_service.district_code_by_id(session).get(district_id),
            "day": day.isoformat(),
            "at": at.isoformat(),
            "policy_version": policy_version,
            "reason": reason,
        },
        district_id=district_id,
        idempotency_key=f"zones:{area_id}:{step}:{at.isoformat()}",
        now=at,
        command_centre=to_command_centre,
    )


# An area whose lifting was proposed, as its notice lists it: area id, district id, building code
# and address label (None when the building is unknown).
LiftingNoticeRow = tuple[int, int, str | None, str | None]


def send_liftings_due(
    session: Session,
    *,
    due: Sequence[LiftingNoticeRow],
    at: datetime,
    day: date,
    version: str,
    reason: str,
) -> None:
    """One notice per district (in pages of areas) listing what it must approve today."""
    codes = areas_service.district_code_by_id(session)
    by_district: dict[int, list[dict[str, Any]]] = {}
    for area_id, district_id, building_code, address_label in due:
        by_district.setdefault(district_id, []).append(
            {"area_id": area_id, "building_code": building_code, "address_label": address_label}
        )
    notices = []
    for district_id, items in sorted(by_district.items()):
        for start in range(0, len(items), _NOTICE_PAGE):
            page = items[start : start + _NOTICE_PAGE]
            digest = hashlib.sha256(",".join(str(i["area_id"]) for i in page).encode()).hexdigest()
            notices.append(
                adapters.Notice(
                    topic="zones.lifting_proposed",
                    payload={
                        "step": "lifting_proposed",
                        "district_code": codes.get(district_id),
                        "day": day.isoformat(),
                        "at": at.isoformat(),
                        "policy_version": version,
                        "reason": reason,
                        "areas": page,
                    },
                    district_id=district_id,
                    idempotency_key=f"zones:lifting_proposed:{district_id}:{day}:{digest[:20]}",
                )
            )
    adapters.notify_all(session, notices=notices, now=at)
