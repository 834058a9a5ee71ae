"""Sampling sites, tubes with members, and laboratory results, at fixed times."""

from __future__ import annotations

import io
import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from tests.factories.clock import TZ
from tests.factories.people import building_in, make_person, next_national_id
from xietong.core.principal import SYSTEM
from xietong.people import service as people_service
from xietong.people.models import Person
from xietong.people.protection import PersonalDataProtector
from xietong.screening import service
from xietong.screening.schemas import (
    LabResultBatch,
    LabResultIn,
    ResultBatchReport,
    SiteCreate,
    SiteRead,
    TubeBatch,
    TubeBatchReport,
    TubeIn,
)

# A screening morning in Chongqing: 15 Nov 2022, 08:00 local; results come in by noon.
SAMPLED_AT = datetime(2022, 11, 15, 0, 0, tzinfo=UTC)
NOW = datetime(2022, 11, 15, 4, 0, tzinfo=UTC)

_serial = itertools.count(1)


def tube_code(prefix: str = "T") -> str:
    return f"{prefix}{next(_serial):08d}"


def make_site(
    session: Session, *, district_code: str = "500103", with_building: bool = False
) -> SiteRead:
    code = f"S{district_code}-{next(_serial):05d}"
    return service.create_site(
        session,
        principal=SYSTEM,
        site_in=SiteCreate(
            code=code,
            name=f"采样点 {code}",
            district_code=district_code,
            building_code=building_in(session, district_code).code if with_building else None,
        ),
        now=NOW,
    )


def make_persons(
    session: Session,
    protector: PersonalDataProtector,
    count: int,
    *,
    district_code: str = "500103",
    current_district_code: str | None = None,
) -> list[Person]:
    return [
        make_person(
            session,
            protector,
            district_code=district_code,
            current_district_code=current_district_code,
        )
        for _ in range(count)
    ]


def import_persons(
    session: Session,
    protector: PersonalDataProtector,
    count: int,
    *,
    district_code: str = "500103",
    building_index: int = 0,
) -> list[int]:
    """Many persons at once through the people CSV import; their ids in order."""
    building = building_in(session, district_code, building_index).code
    lines = ["national_id,name,residence_building"]
    numbers = [next_national_id() for _ in range(count)]
    lines += [f"{number},居民,{building}" for number in numbers]
    people_service.import_persons(
        session, principal=SYSTEM, protector=protector, stream=io.StringIO("\n".join(lines))
    )
    hashes = [protector.hash_id(n) for n in numbers]
    found = dict(
        session.execute(
            people_service.visible_persons(SYSTEM, at=datetime.now(UTC))
            .with_only_columns(Person.id_hash, Person.id)
            .where(Person.id_hash.in_(hashes))
        ).all()
    )
    return [found[h] for h in hashes]


def tube(
    site: SiteRead,
    person_ids: Sequence[int],
    *,
    code: str | None = None,
    pool_size: int = 10,
    collected_at: datetime = SAMPLED_AT,
    kind: str = "screening",
    replaces: str | None = None,
) -> TubeIn:
    return TubeIn(
        tube_code=code or tube_code(),
        site_code=site.code,
        collected_at=collected_at,
        pool_size=pool_size,
        kind=kind,  # type: ignore[arg-type]
        replaces_tube_code=replaces,
        person_ids=list(person_ids),
    )


def register(session: Session, *tubes: TubeIn, now: datetime = NOW) -> TubeBatchReport:
    return service.register_tubes(
        session, principal=SYSTEM, batch=TubeBatch(tubes=list(tubes)), tz=TZ, now=now
    )


def result(
    code: str,
    outcome: str,
    *,
    ct: float | None = None,
    lab: str = "LAB-01",
    reported_at: datetime = SAMPLED_AT + timedelta(hours=3),
) -> LabResultIn:
    return LabResultIn(
        tube_code=code, result=outcome, ct_value=ct, lab=lab, reported_at=reported_at
    )


def report(session: Session, *results: LabResultIn, now: datetime = NOW) -> ResultBatchReport:
    return service.ingest_lab_results(
        session, principal=SYSTEM, batch=LabResultBatch(results=list(results)), tz=TZ, now=now
    )
