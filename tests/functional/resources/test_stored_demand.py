"""Demand read from the other domains when nothing is stated: new cases from the cases domain's
daily counts (projected by the forecast or the trend) and beds held by quarantine orders."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from tests.factories.cases import add_contact, at, make_case
from tests.factories.resources import DAY, JIULONGPO, SHAPINGBA, TZ, facility
from xietong.core.principal import SYSTEM
from xietong.people.protection import PersonalDataProtector
from xietong.resources.outlook import service as outlook
from xietong.resources.plans import service as flows
from xietong.resources.schemas import DemandRequest, PlanRequest

CQ = "centralised_quarantine_bed"


def test_a_growing_district_is_projected_to_need_beds_and_gets_them_from_a_neighbour(
    session: Session, protector: PersonalDataProtector
) -> None:
    facility(session, district_code=SHAPINGBA, beds=5)
    facility(session, district_code=JIULONGPO, beds=400)
    # 沙坪坝 reports 1, 1, 2, 3, 4, 6, 8 new cases on the week before the plan.
    for back, count in zip(range(7, 0, -1), (1, 1, 2, 3, 4, 6, 8), strict=True):
        for _ in range(count):
            make_case(
                session,
                protector,
                district_code=SHAPINGBA,
                detected_at=at(DAY - timedelta(days=back)),
            )
    view = outlook.outlook(session, first_day=DAY, days=3, inputs=DemandRequest(days=3), tz=TZ)
    read = outlook.demand_read(view)
    assert read.demand_source == "forecast_model"
    projected = read.new_cases[SHAPINGBA]
    assert projected[0] >= 8 and projected[-1] >= projected[0]  # still growing
    assert read.tubes_source in {"screening_plan", "not_available"}

    plan = flows.propose_plan(
        session,
        principal=SYSTEM,
        request=PlanRequest(first_day=DAY, days=3, planned_tubes={}),
        tz=TZ,
        now=at(DAY, 9),
    )
    assert plan.demand_source == "forecast_model"
    sent = sum(
        t.amount for t in plan.transfers if t.resource == CQ and t.from_district_code == SHAPINGBA
    )
    assert sent > 0
    assert all(t.to_district_code == JIULONGPO for t in plan.transfers if t.resource == CQ)


def test_beds_held_by_quarantine_orders_count_as_in_use(
    session: Session, protector: PersonalDataProtector
) -> None:
    facility(session, district_code=SHAPINGBA, beds=3)
    case = make_case(
        session, protector, district_code=SHAPINGBA, detected_at=at(DAY - timedelta(days=1))
    )
    for _ in range(2):
        add_contact(session, protector, case, district_code=SHAPINGBA, starts_on=DAY)
    view = outlook.outlook(
        session,
        first_day=DAY,
        days=7,
        inputs=DemandRequest(days=7, recent_new_cases={}, planned_tubes={}),
        tz=TZ,
    )
    row = view.district_codes.index(SHAPINGBA)
    # Five days of centralised quarantine from the day the order starts (the policy's).
    assert view.in_use[CQ][row, :7].tolist() == [2, 2, 2, 2, 2, 0, 0]
    assert view.capacity[CQ][row, 0] == 3
