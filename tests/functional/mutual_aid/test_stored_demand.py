"""Demand read from the other domains when nothing is stated: new cases from the forecast the
forecast page shows (the backtested forecast of the same series, read at the policy's quantile)
and beds held by quarantine orders."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from importlib import resources

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.cases import add_contact, at, make_case
from tests.factories.resources import DAY, JIULONGPO, SHAPINGBA, TZ, facility
from tests.factories.web import log_in
from xietong.analytics import service as analytics_service
from xietong.analytics.core.recalibrated import recalibrated_quantiles
from xietong.analytics.core.scores import HUB_QUANTILE_LEVELS
from xietong.analytics.expected import HORIZON_DAYS, expected_inputs, expected_quantiles
from xietong.areas import service as areas_service
from xietong.core.principal import SYSTEM, Role
from xietong.mutual_aid.outlook import service as outlook
from xietong.mutual_aid.outlook.demand import whole_arrivals
from xietong.mutual_aid.plans import service as flows
from xietong.mutual_aid.schemas import DemandRequest, PlanRequest
from xietong.people.protection import PersonalDataProtector
from xietong.policy import service as policy_service

CQ = "centralised_quarantine_bed"


def test_a_growing_district_is_projected_to_need_beds_and_gets_them_from_a_neighbour(
    session: Session, protector: PersonalDataProtector
) -> None:
    facility(session, district_code=SHAPINGBA, beds=5)
    facility(session, district_code=JIULONGPO, beds=400)
    growing_shapingba(session, protector)
    view = outlook.outlook(session, first_day=DAY, days=3, inputs=DemandRequest(days=3), tz=TZ)
    read = outlook.demand_read(view)
    assert read.demand_source == "growth_recalibrated"
    assert read.demand_quantile == 0.75  # the default policy's mutual_aid.demand_quantile
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
    assert plan.demand_source == "growth_recalibrated"
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


def growing_shapingba(session: Session, protector: PersonalDataProtector) -> None:
    """沙坪坝 finds 1, 1, 2, 3, 4, 6, 8 new cases on the week before the plan, each recorded when
    found; the aggregates are refreshed after, as the forecast page reads them."""
    for back, count in zip(range(7, 0, -1), (1, 1, 2, 3, 4, 6, 8), strict=True):
        for _ in range(count):
            make_case(
                session,
                protector,
                district_code=SHAPINGBA,
                detected_at=at(DAY - timedelta(days=back)),
            )
    analytics_service.refresh_aggregates(session, now=at(DAY, 1), tz=TZ)


def test_the_demand_is_the_backtested_forecast_at_the_policy_level_within_the_susceptibles(
    session: Session, protector: PersonalDataProtector
) -> None:
    growing_shapingba(session, protector)  # 25 cases in the week before the plan
    # A census population the outbreak nearly exhausts: 15 residents are still susceptible.
    areas_service.get_district(session, code=SHAPINGBA).population = 40
    session.flush()
    view = outlook.outlook(session, first_day=DAY, days=7, inputs=DemandRequest(days=7), tz=TZ)
    row = view.district_codes.index(SHAPINGBA)
    # The history the forecast page reads on the day before the plan, every district at once
    # (the ensembles share the random streams, as the backtests draw them).
    history = expected_inputs(session, last_day=DAY - timedelta(days=1), tz=TZ)
    column = history.codes.index(SHAPINGBA)
    assert history.counts[-7:, column].tolist() == [1, 1, 2, 3, 4, 6, 8]
    level = HUB_QUANTILE_LEVELS.index(
        policy_service.policy_in_force(session, day=DAY).mutual_aid.demand_quantile
    )
    uncapped = recalibrated_quantiles(
        history.counts, horizon_days=HORIZON_DAYS, rng=np.random.default_rng(0)
    )[:7, column, level]
    quantiles = expected_quantiles(history)[:7, column, level]
    assert view.demand.source == "growth_recalibrated" and view.demand.quantile == 0.75
    assert uncapped.max() > 15  # uncapped, the forecast would pass the susceptibles
    assert np.array_equal(quantiles, np.minimum(uncapped, 15.0))
    assert view.demand.projected[row].tolist() == quantiles.tolist()
    assert view.demand.new_cases[row].tolist() == whole_arrivals(quantiles).tolist()
    assert view.demand.new_cases[row].max() <= 15


def adopt_demand_quantile(session: Session, level: float) -> None:
    text = resources.files("xietong.policy").joinpath("default.toml").read_text(encoding="utf-8")
    text = re.sub(r'(?m)^version = "[^"]*"', f'version = "plan-at-{level}"', text)
    text = re.sub(r"(?m)^effective_from = \S+", f"effective_from = {DAY.isoformat()}", text)
    text = re.sub(r"(?m)^demand_quantile = \S+", f"demand_quantile = {level}", text)
    policy_service.adopt_policy(
        session, principal=SYSTEM, text=text, source="test", now=datetime.now(UTC)
    )


def test_the_demand_is_read_at_the_quantile_the_policy_names(
    session: Session, protector: PersonalDataProtector
) -> None:
    growing_shapingba(session, protector)
    default = outlook.demand_read(
        outlook.outlook(session, first_day=DAY, days=5, inputs=DemandRequest(days=5), tz=TZ)
    )
    adopt_demand_quantile(session, 0.95)
    upper = outlook.demand_read(
        outlook.outlook(session, first_day=DAY, days=5, inputs=DemandRequest(days=5), tz=TZ)
    )
    assert (default.demand_quantile, upper.demand_quantile) == (0.75, 0.95)
    assert upper.policy_version == "plan-at-0.95"
    assert sum(upper.new_cases[SHAPINGBA]) > sum(default.new_cases[SHAPINGBA])


def test_the_resources_page_says_which_quantile_the_demand_is_planned_on(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    growing_shapingba(session, protector)
    log_in(app_client, session, role=Role.command)
    page = app_client.get("/resources", params={"day": DAY.isoformat()})
    assert page.status_code == 200, page.text
    assert "按预测页所示预测的第 75 百分位计划" in page.text


def test_a_stored_plan_keeps_the_quantile_it_was_built_on_after_the_policy_changes(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    growing_shapingba(session, protector)
    facility(session, district_code=SHAPINGBA, beds=5)
    request = PlanRequest(first_day=DAY, days=3, planned_tubes={})
    built = flows.propose_plan(session, principal=SYSTEM, request=request, tz=TZ, now=at(DAY, 9))
    adopt_demand_quantile(session, 0.95)

    stored = flows.get_plan(session, principal=SYSTEM, plan_id=built.id or 0)
    assert (built.demand_quantile, stored.demand_quantile) == (0.75, 0.75)
    log_in(app_client, session, role=Role.command)
    page = app_client.get("/resources", params={"day": DAY.isoformat()})
    assert "按预测的第 75 百分位制定" in page.text  # the plan's own level, not today's 95th
