"""Risk areas in each state of their life, infections by building, residents, and a screening
source the tests fill by hand (building → days with a complete negative round)."""

from __future__ import annotations

import itertools
from collections.abc import Collection, Iterable
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from tests.factories.clock import TZ, at
from tests.factories.people import building_in, next_national_id
from xietong.areas.models import Building
from xietong.core.principal import SYSTEM
from xietong.people import service as people_service
from xietong.people.models import Person
from xietong.people.protection import PersonalDataProtector
from xietong.people.schemas import PersonCreate
from xietong.policy import service as policy_service
from xietong.zones import service, tasks
from xietong.zones.models import BuildingInfection, RiskArea

NOV = {day: date(2022, 11, day) for day in range(1, 31)}
_serial = itertools.count(1)


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def building(session: Session, district_code: str = "500106", index: int = 0) -> Building:
    return building_in(session, district_code, index)


def resident(
    session: Session,
    protector: PersonalDataProtector,
    home: Building,
    *,
    staying_in: Building | None = None,
    name: str = "张三",
) -> Person:
    return people_service.create_person(
        session,
        principal=SYSTEM,
        protector=protector,
        person_in=PersonCreate(
            national_id=next_national_id(),
            name=name,
            phone="13900000000",
            residence_building_code=home.code,
            current_building_code=staying_in.code if staying_in else None,
        ),
    )


def infection(
    session: Session,
    protector: PersonalDataProtector,
    where: Building,
    day: date,
    *,
    on_surface: bool = True,
    hour: int = 10,
) -> BuildingInfection:
    """A new infection found in `where` on `day` (a new resident is the infected person)."""
    person = resident(session, protector, where, name=f"病例{next(_serial)}")
    return service.record_infection(
        session,
        building_id=where.id,
        district_id=where.district_id,
        person_id=person.id,
        detected_at=at(day, hour),
        on_surface=on_surface,
        case_id=None,
        tz=TZ,
        now=at(day, hour),
    )


def area(
    session: Session,
    where: Building,
    *,
    status: str = "active",
    active_from: date = NOV[14],
    lifted_on: date | None = None,
    reason: str = "surface case",
) -> RiskArea:
    """An area of `where` brought to `status` through the service, on the days given."""
    proposed = service.open_area(
        session,
        principal=SYSTEM,
        building_code=where.code,
        reason=reason,
        now=at(active_from, 9),
        tz=TZ,
        designate=False,
    )
    if status == "proposed":
        return proposed
    if status == "rejected":
        return service.reject_area(
            session,
            principal=SYSTEM,
            area_id=proposed.id,
            reason="not needed",
            tz=TZ,
            now=at(active_from, 11),
        )
    service.approve_area(
        session, principal=SYSTEM, area_id=proposed.id, now=at(active_from, 11), tz=TZ
    )
    if status == "lifting_proposed":
        day = lifted_on or active_from + timedelta(days=5)
        due = tasks.LiftingDue(proposed.id, proposed.district_id, proposed.building_id)
        tasks.propose_liftings(
            session, due=[due], day=day, reason="5 consecutive clean days", now=at(day, 20)
        )
    elif status == "lifted":
        day = lifted_on or active_from + timedelta(days=5)
        service.lift_area(
            session, principal=SYSTEM, area_id=proposed.id, reason="clean", now=at(day, 15), tz=TZ
        )
    session.refresh(proposed)
    return proposed


class ScreeningDays:
    """A screening source: the days each building had a complete negative round."""

    def __init__(self) -> None:
        self.negative: dict[int, set[date]] = {}
        self.calls = 0

    def add(self, where: Building | int, screened: Iterable[date]) -> ScreeningDays:
        building_id = where if isinstance(where, int) else where.id
        self.negative.setdefault(building_id, set()).update(screened)
        return self

    def __call__(
        self,
        session: Session,
        *,
        building_ids: Collection[int],
        first_day: date,
        last_day: date,
    ) -> dict[int, set[date]]:
        self.calls += 1
        return {
            b: {d for d in self.negative[b] if first_day <= d <= last_day}
            for b in building_ids
            if b in self.negative
        }


def adopt_changes(
    session: Session,
    *,
    version: str,
    effective_from: date,
    changes: dict[str, object] | None = None,
) -> None:
    """Adopt a copy of the default policy file with `changes` (dotted keys) from its date."""
    policy_service.adopt_policy(
        session,
        principal=SYSTEM,
        text=policy_toml(version=version, effective_from=effective_from, changes=changes or {}),
        source=f"test policy {version}",
        now=datetime.now(UTC),
    )


def policy_toml(*, version: str, effective_from: date, changes: dict[str, object]) -> str:
    """The default policy file's text with `changes` applied line by line (dotted keys)."""
    from importlib import resources

    text = resources.files("xietong.policy").joinpath("default.toml").read_text(encoding="utf-8")
    lines = text.splitlines()
    table = ""
    edits = {"version": f'"{version}"', "effective_from": effective_from.isoformat()}
    edits.update({k: _toml_value(v) for k, v in changes.items()})
    out = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("[") and not stripped.startswith("[["):
            table = stripped.split("]")[0].strip("[ ")
        key = (
            stripped.split("=")[0].strip()
            if "=" in stripped and not stripped.startswith("#")
            else None
        )
        dotted = f"{table}.{key}" if table and key else key
        if dotted in edits:
            line = f"{key} = {edits.pop(dotted)}"
        out.append(line)
    assert not edits, f"keys not found in the default policy: {sorted(edits)}"
    return "\n".join(out) + "\n"


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)
