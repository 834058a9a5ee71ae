"""The wall's handover summary: new cases recorded, referrals answered, risk areas locked and
lifted since the current shift began (the policy's `[shift] starts`, 08:00 and 20:00 local by
default), within the user's jurisdiction, on the strip the overview fetches again live."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.cases import make_case
from tests.factories.clock import TZ
from tests.factories.referrals import RECEIVER, make_referral
from tests.factories.web import log_in
from tests.factories.zones import area, building
from xietong.core.principal import SYSTEM, Principal, Role
from xietong.core.wallclock import SystemClock
from xietong.people.protection import PersonalDataProtector
from xietong.referrals.actions import service as action_service
from xietong.referrals.states import Action
from xietong.web.data import wall
from xietong.zones import service as zones_service

# 11:00 in Chongqing on 15 November 2022: the day shift began at 08:00 local, 00:00 UTC.
NOW = datetime(2022, 11, 15, 3, 0, tzinfo=UTC)
BEGAN = datetime(2022, 11, 15, 0, 0, tzinfo=UTC)


def _answer(session: Session, referral_id: int, *, start: datetime, decline: bool = False) -> None:
    common = {"principal": SYSTEM, "referral_id": referral_id, "tz": TZ}
    if decline:
        action_service.decline(session, reason="查无此人", at=start, **common)
        return
    for minutes, step in enumerate(("acknowledge", "locate", "control")):
        action_service.act(
            session, action=Action(step), at=start + timedelta(minutes=minutes), **common
        )
    action_service.close(session, feedback="已集中隔离", at=start + timedelta(minutes=5), **common)


def _a_shift_of_changes(session: Session, protector: PersonalDataProtector) -> None:
    """In 南岸区 (500108): of each kind, some before the shift began and some after."""
    _answer(session, make_referral(session, protector).id, start=BEGAN - timedelta(minutes=30))
    _answer(session, make_referral(session, protector).id, start=BEGAN)
    _answer(session, make_referral(session, protector).id, start=BEGAN, decline=True)
    lifted = area(session, building(session, RECEIVER, 0))  # locked on the 14th
    zones_service.lift_area(
        session, principal=SYSTEM, area_id=lifted.id, reason="复核", now=BEGAN + timedelta(hours=1)
    )
    zones_service.open_area(
        session,
        principal=SYSTEM,
        building_code=building(session, RECEIVER, 1).code,
        reason="社会面病例",
        now=BEGAN + timedelta(minutes=30),
        designate=True,
    )
    proposed = zones_service.open_area(
        session,
        principal=SYSTEM,
        building_code=building(session, RECEIVER, 2).code,
        reason="社会面病例",
        now=BEGAN - timedelta(hours=2),
        designate=False,
    )
    zones_service.approve_area(
        session, principal=SYSTEM, area_id=proposed.id, now=BEGAN + timedelta(hours=2)
    )
    make_case(session, protector, district_code=RECEIVER, detected_at=BEGAN - timedelta(minutes=6))
    make_case(session, protector, district_code=RECEIVER, detected_at=BEGAN + timedelta(hours=1))


def _principal(role: Role, district_id: int | None) -> Principal:
    return Principal(user_id=0, username="wall", role=role, district_id=district_id)


def test_the_shift_counts_what_changed_since_its_start_within_the_jurisdiction(
    session: Session, protector: PersonalDataProtector
) -> None:
    _a_shift_of_changes(session, protector)
    receiver = building(session, RECEIVER, 0).district_id
    other = building(session, "500101", 0).district_id

    city = wall.shift_changes(session, principal=_principal(Role.command, None), now=NOW, tz=TZ)
    assert city == wall.ShiftChanges(BEGAN, new_cases=1, answered=2, locked=2, lifted=1)
    district = wall.shift_changes(
        session, principal=_principal(Role.district_coordinator, receiver), now=NOW, tz=TZ
    )
    assert district == city
    elsewhere = wall.shift_changes(
        session, principal=_principal(Role.district_coordinator, other), now=NOW, tz=TZ
    )
    assert elsewhere == wall.ShiftChanges(BEGAN, new_cases=0, answered=0, locked=0, lifted=0)
    # At 07:00 the next morning the night shift (from 20:00) is running: nothing of it yet.
    night = wall.shift_changes(
        session,
        principal=_principal(Role.command, None),
        now=NOW + timedelta(hours=20),
        tz=TZ,
    )
    assert night.began_at == BEGAN + timedelta(hours=12)
    assert (night.new_cases, night.answered, night.locked, night.lifted) == (0, 0, 0, 0)


def test_the_strip_says_when_the_shift_began_in_the_readers_language(
    app_client: TestClient, session: Session
) -> None:
    now = SystemClock().now()
    log_in(app_client, session, role=Role.command)
    strip = app_client.get("/overview/strip").text
    began = re.search(r'id="shift-changes" data-shift-start="([^"]+)"', strip)
    assert began is not None
    start = datetime.fromisoformat(began.group(1))
    assert timedelta(0) <= now - start <= timedelta(hours=12)
    hour = start.astimezone(ZoneInfo(TZ)).strftime("%H:%M")
    assert hour in ("08:00", "20:00")
    assert re.search(rf"本班以来（[^）]*{hour} 起）", strip)
    for name in ("new-cases", "answered", "locked", "lifted"):
        assert re.search(rf'id="shift-{name}"><dt>[^<]+</dt><dd>\d+</dd>', strip), name
    english = app_client.get("/overview/strip?lang=en").text
    assert re.search(rf"This shift \(since [^)]*{hour}\)", english)
    assert "Referrals answered" in english
