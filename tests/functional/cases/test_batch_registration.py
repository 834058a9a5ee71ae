"""Cases registered as one batch are the cases registered one at a time: the same classes, the
same findings (under control or on the surface, and why), places, clusters, ended orders,
building infections and proposed areas. A bad row refuses the whole batch, named; a batch costs
the same statements whatever its size."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from tests.factories.cases import DAY, TZ, add_contact, at, make_case, person_at, residence_code
from tests.factories.resources import facility as make_facility
from tests.functional.cases.test_found_under_control import lock_building
from tests.savepoints import undone
from xietong.cases import registration
from xietong.cases import service as cases_service
from xietong.cases.models import Case, CasePlace, Cluster, ClusterMember, QuarantineOrder
from xietong.cases.schemas import CaseCreate, Classification
from xietong.core.errors import ValidationFailed
from xietong.core.principal import SYSTEM
from xietong.people.models import Person
from xietong.people.protection import PersonalDataProtector
from xietong.zones.models import BuildingInfection, RiskArea, RiskAreaEvent

NOW = at(DAY + timedelta(days=3), 20)


def _city(session: Session, protector: PersonalDataProtector) -> tuple[list[Person], list[str]]:
    """Eight persons in four buildings of two districts: one building locked, two persons under
    quarantine orders (contacts of an earlier case), one building a case already lives in."""
    buildings = [
        residence_code(session, "500110", 1),
        residence_code(session, "500110", 2),
        residence_code(session, "500111", 1),
        residence_code(session, "500111", 2),
    ]
    lock_building(session, buildings[3], day_before=2)
    make_facility(session, district_code="500110", beds=1)
    source = make_case(session, protector, person=person_at(session, protector, buildings[0]))
    persons = [person_at(session, protector, buildings[k % 4]) for k in range(8)]
    for person in persons[:2]:
        add_contact(session, protector, source, person=person, starts_on=DAY)
    return persons, buildings


def _snapshot(session: Session, persons: list[Person]) -> dict[str, Any]:
    """Everything a registration writes, keyed by person and building (never by new ids)."""
    ids = [p.id for p in persons]
    person_of = dict(session.execute(select(Case.id, Case.person_id)).all())
    cases = {
        c.person_id: (
            c.classification,
            c.initial_classification,
            c.source,
            c.detected_at,
            c.report_day,
            c.onset_day,
            c.report_district_id,
            c.residence_district_id,
            c.residence_building_id,
            c.found_building_id,
            c.found_under_control,
            c.control_reason,
            c.control_order_id,
            c.policy_version,
            c.note,
            c.created_by,
        )
        for c in session.scalars(select(Case).where(Case.person_id.in_(ids)))
    }
    places = sorted(
        (person_of[p.case_id], p.building_id, p.district_id, p.role, p.day, p.added_by)
        for p in session.scalars(select(CasePlace))
    )
    members: dict[int, list[tuple[Any, ...]]] = {}
    for m in session.scalars(select(ClusterMember)):
        members.setdefault(m.cluster_id, []).append(
            (person_of[m.case_id], m.status, m.place_role, m.day)
        )
    clusters = sorted(
        (
            c.building_id,
            c.district_id,
            c.status,
            c.first_case_day,
            c.last_case_day,
            tuple(sorted(members.get(c.id, []))),
        )
        for c in session.scalars(select(Cluster))
    )
    orders = sorted(
        (o.id, o.status, o.ended_on, o.facility_id)
        for o in session.scalars(select(QuarantineOrder))
    )
    infections = sorted(
        (i.person_id, i.building_id, i.district_id, i.day, i.on_surface, person_of.get(i.case_id))
        for i in session.scalars(select(BuildingInfection))
    )
    areas = sorted(
        (a.building_id, a.status, a.origin, person_of.get(a.source_case_id or 0))
        for a in session.scalars(select(RiskArea))
    )
    steps = sorted(
        (area.building_id, e.step, e.day)
        for e, area in session.execute(
            select(RiskAreaEvent, RiskArea).join(RiskArea, RiskArea.id == RiskAreaEvent.area_id)
        )
    )
    return {
        "cases": cases,
        "places": places,
        "clusters": clusters,
        "orders": orders,
        "infections": infections,
        "areas": areas,
        "steps": steps,
    }


reports = st.lists(
    st.tuples(
        st.integers(0, 7),  # the person
        st.sampled_from(["confirmed", "asymptomatic"]),
        st.integers(0, 60),  # hours after DAY 00:00 local
        st.none() | st.integers(0, 3),  # the building where found, if not at home
    ),
    min_size=1,
    max_size=8,
    unique_by=lambda r: r[0],
)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=reports)
def test_a_batch_registers_what_the_cases_one_at_a_time_would(
    session: Session,
    protector: PersonalDataProtector,
    rows: list[tuple[int, Classification, int, int | None]],
) -> None:
    with undone(session):
        persons, buildings = _city(session, protector)
        batch = [
            CaseCreate(
                person_id=persons[who].id,
                classification=classification,
                detected_at=at(DAY, 0) + timedelta(hours=hours),
                found_building_code=None if found is None else buildings[found],
                note=f"row {who}",
            )
            for who, classification, hours, found in rows
        ]
        with undone(session):
            for case_in in batch:
                cases_service.create_case(
                    session, principal=SYSTEM, case_in=case_in, now=NOW, tz=TZ
                )
            alone = _snapshot(session, persons)
        with undone(session):
            made = registration.register_cases(
                session, principal=SYSTEM, cases=batch, now=NOW, tz=TZ
            )
            together = _snapshot(session, persons)
        assert [c.person_id for c in made] == [c.person_id for c in batch]
        assert together == alone


def test_a_bad_row_refuses_the_whole_batch_naming_each_bad_row(
    session: Session, protector: PersonalDataProtector
) -> None:
    persons, _ = _city(session, protector)
    before = session.scalar(select(Case.id).order_by(Case.id.desc()).limit(1))
    good = CaseCreate(person_id=persons[2].id, classification="confirmed", detected_at=at())
    with pytest.raises(ValidationFailed) as refused:
        registration.register_cases(
            session,
            principal=SYSTEM,
            cases=[
                good,
                good,  # the same person twice
                CaseCreate(person_id=10**9, classification="confirmed", detected_at=at()),
                CaseCreate(
                    person_id=persons[3].id,
                    classification="confirmed",
                    detected_at=NOW + timedelta(days=1),
                    found_building_code="NO-SUCH-BUILDING",
                    report_district_code="999999",
                ),
            ],
            now=NOW,
            tz=TZ,
        )
    problems = {(e["record"], e["field"]) for e in refused.value.details}
    assert problems == {
        ("case 2", "person_id"),
        ("case 3", "person_id"),
        ("case 4", "detected_at"),
        ("case 4", "found_building_code"),
        ("case 4", "report_district_code"),
    }
    assert "appears twice" in str(refused.value.errors[0])
    assert session.scalar(select(Case.id).order_by(Case.id.desc()).limit(1)) == before


def _statements(session: Session, size: int, persons: list[Person]) -> int:
    counted = 0

    def count(*_: object) -> None:
        nonlocal counted
        counted += 1

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        with undone(session):
            registration.register_cases(
                session,
                principal=SYSTEM,
                cases=[
                    CaseCreate(person_id=p.id, classification="confirmed", detected_at=at())
                    for p in persons[:size]
                ],
                now=NOW,
                tz=TZ,
            )
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return counted


def test_a_batch_costs_the_same_statements_whatever_its_size(
    session: Session, protector: PersonalDataProtector
) -> None:
    # All in one locked building: under control, one cluster, no area to propose.
    building = residence_code(session, "500112", 5)
    lock_building(session, building)
    persons = [person_at(session, protector, building) for _ in range(40)]
    assert _statements(session, 40, persons) == _statements(session, 4, persons)
