"""Synthetic persons in the synthetic buildings of a district."""

from __future__ import annotations

import itertools
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.areas.models import Building, District
from xietong.core.principal import SYSTEM
from xietong.people import service
from xietong.people.models import Person
from xietong.people.protection import PersonalDataProtector
from xietong.people.schemas import PersonCreate
from xietong.people.synthetic import synthetic_national_id

_serial = itertools.count(1)


def next_national_id() -> str:
    n = next(_serial)
    return synthetic_national_id(
        serial=n % 1000, birth=date(1950 + n // 1000 % 60, 1 + n // 60000 % 12, 1 + n % 28)
    )


def building_in(session: Session, district_code: str, index: int = 0) -> Building:
    return session.scalars(
        select(Building)
        .join(District, District.id == Building.district_id)
        .where(District.code == district_code)
        .order_by(Building.id)
        .offset(index)
        .limit(1)
    ).one()


def make_person(
    session: Session,
    protector: PersonalDataProtector,
    *,
    district_code: str = "500103",
    current_district_code: str | None = None,
    name: str = "测试人员",
    phone: str | None = "13800000000",
) -> Person:
    residence = building_in(session, district_code)
    current = building_in(session, current_district_code) if current_district_code else None
    return service.create_person(
        session,
        principal=SYSTEM,
        protector=protector,
        person_in=PersonCreate(
            national_id=next_national_id(),
            name=name,
            phone=phone,
            residence_building_code=residence.code,
            current_building_code=current.code if current else None,
        ),
    )
