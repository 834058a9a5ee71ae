"""What districts will need: new cases projected (a given forecast, the model, else the trend),
turned into beds for the policy's durations and tubes for the screening plan."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from xietong.mutual_aid.outlook.demand import (
    Projection,
    StayRules,
    in_use,
    project_demand,
    project_new_cases,
    whole_arrivals,
)
from xietong.policy.loader import default_policy
from xietong.resources.vocabulary import (
    CENTRALISED_QUARANTINE_BED,
    HOME_ISOLATION_PLACE,
    LAB_TUBE,
    MAKESHIFT_HOSPITAL_BED,
)

DAYS = tuple(date(2022, 11, 14) + timedelta(days=k) for k in range(7))


def rules(case_stay_days: int = 7) -> StayRules:
    quarantine = default_policy().quarantine
    return StayRules(
        centralised_quarantine_days=quarantine.centralised_quarantine_days,
        home_isolation_days=quarantine.home_isolation_days,
        case_stay_days=case_stay_days,
    )


def test_the_policy_gives_contacts_5_days_of_bed_then_3_at_home() -> None:
    stays = rules()
    assert stays.stay_days(CENTRALISED_QUARANTINE_BED) == 5
    assert stays.stay_days(HOME_ISOLATION_PLACE) == 3
    assert stays.stay_days(MAKESHIFT_HOSPITAL_BED) == 7
    assert stays.stay_days(LAB_TUBE) == 1


def test_an_arrival_holds_its_place_for_its_stay_and_home_isolation_follows() -> None:
    arrivals = np.array([1, 0, 0, 0, 0, 0, 0, 0, 0, 0], dtype=float)
    assert in_use(arrivals, stay_days=5).tolist() == [1, 1, 1, 1, 1, 0, 0, 0, 0, 0]
    assert in_use(arrivals, stay_days=3, after_days=5).tolist() == [0, 0, 0, 0, 0, 1, 1, 1, 0, 0]


@given(st.lists(st.floats(0, 50, allow_nan=False), min_size=1, max_size=30))
def test_whole_arrivals_are_whole_and_keep_the_expected_total(expected: list[float]) -> None:
    whole = whole_arrivals(np.array(expected))
    assert np.all(whole == np.rint(whole)) and np.all(whole >= 0)
    assert abs(whole.sum() - sum(expected)) <= 0.5 + 1e-9


def test_a_third_of_a_case_a_day_is_one_case_every_third_day() -> None:
    assert whole_arrivals(np.full(6, 1 / 3)).tolist() == [0, 1, 0, 0, 1, 0]


def test_a_forecast_given_is_used_as_it_is() -> None:
    given_forecast = np.arange(14, dtype=float).reshape(2, 7)
    projection = project_new_cases(np.ones((2, 10)), horizon_days=7, forecast_given=given_forecast)
    assert projection.source == "forecast_given"
    assert np.array_equal(projection.new_cases, given_forecast)


def test_the_trend_continues_an_exponential_growth() -> None:
    # Counts that grow exactly 10 % a day (after the +0.5 of the log) keep growing 10 % a day.
    history = 100 * np.exp(0.1 * np.arange(10)) - 0.5
    projection = project_new_cases(history[None, :], horizon_days=3)
    assert projection.source == "trend"
    assert projection.growth_rate is not None
    assert projection.growth_rate[0] == pytest.approx(0.1)
    expected = 100 * np.exp(0.1 * np.arange(10, 13)) - 0.5
    assert projection.new_cases[0] == pytest.approx(expected)


def test_a_flat_district_stays_flat_and_a_quiet_one_stays_quiet() -> None:
    history = np.array([[5.0] * 7, [0.0] * 7])
    projection = project_new_cases(history, horizon_days=4)
    assert projection.new_cases[0] == pytest.approx([5.0] * 4)
    assert projection.new_cases[1].tolist() == [0.0] * 4


def test_growth_is_clipped_so_one_jump_does_not_explode_the_plan() -> None:
    history = np.array([[0, 0, 0, 0, 0, 0, 500.0]])
    projection = project_new_cases(history, horizon_days=1, max_growth_rate=0.5)
    assert projection.growth_rate is not None
    assert projection.growth_rate[0] == pytest.approx(0.5)


def test_with_fewer_than_three_days_known_their_mean_is_carried_and_with_none_nothing() -> None:
    assert project_new_cases(np.array([[2.0, 4.0]]), horizon_days=2).new_cases.tolist() == [
        [3.0, 3.0]
    ]
    none = project_new_cases(np.zeros((3, 0)), horizon_days=2)
    assert none.source == "none" and not none.new_cases.any()


def test_the_model_forecasts_where_populations_are_known_and_the_trend_elsewhere() -> None:
    history = np.vstack([np.round(20 * np.exp(0.15 * np.arange(10))), np.full(10, 4.0)])
    km = np.array([[0.0, 25.0], [25.0, 0.0]])
    modelled = project_new_cases(
        history, horizon_days=5, population=np.array([1.5e6, np.nan]), distance_km=km
    )
    trend = project_new_cases(history, horizon_days=5)
    assert modelled.source == "forecast_model"
    assert np.all(np.diff(modelled.new_cases[0]) > 0)  # still growing
    assert modelled.new_cases[1] == pytest.approx(trend.new_cases[1])  # no population: trend


def test_no_case_seen_means_no_model_only_the_trend() -> None:
    projection = project_new_cases(
        np.zeros((2, 7)),
        horizon_days=3,
        population=np.array([1e6, 1e6]),
        distance_km=np.array([[0.0, 10.0], [10.0, 0.0]]),
    )
    assert projection.source == "trend" and not projection.new_cases.any()


def test_demand_read_at_a_higher_quantile_of_the_trend_is_higher_every_day() -> None:
    noisy = [5, 9, 4, 7, 6, 8, 5, 6, 7, 4]
    history = np.vstack([np.round(30 * np.exp(0.1 * np.arange(10))), noisy])
    lower = project_new_cases(history, horizon_days=7, quantile=0.25)
    median = project_new_cases(history, horizon_days=7, quantile=0.5)
    upper = project_new_cases(history, horizon_days=7, quantile=0.75)
    assert upper.source == "trend" and upper.quantile == 0.75
    assert np.all(lower.new_cases <= median.new_cases)
    assert np.all(median.new_cases <= upper.new_cases)
    assert np.all(upper.new_cases[:, -1] > median.new_cases[:, -1])  # the band widens ahead


def test_demand_read_at_a_quantile_of_the_model_ensemble_lies_above_its_median() -> None:
    history = np.vstack([np.round(20 * np.exp(0.15 * np.arange(10))), np.full(10, 4.0)])
    km = np.array([[0.0, 25.0], [25.0, 0.0]])
    where = {"population": np.array([1.5e6, 8e5]), "distance_km": km}
    median = project_new_cases(history, horizon_days=7, quantile=0.5, **where)
    upper = project_new_cases(history, horizon_days=7, quantile=0.9, **where)
    assert upper.source == "forecast_model" and upper.quantile == 0.9
    assert upper.new_cases.sum() > median.new_cases.sum()
    assert np.all(upper.new_cases >= median.new_cases)
    # A fixed seed: the same counts give the same demand, so the same plan.
    again = project_new_cases(history, horizon_days=7, quantile=0.9, **where)
    assert np.array_equal(again.new_cases, upper.new_cases)


@pytest.mark.parametrize("level", [0.0, 1.0, -0.2, 1.5])
def test_a_quantile_outside_0_to_1_is_refused(level: float) -> None:
    with pytest.raises(ValueError, match="quantile"):
        project_new_cases(np.ones((1, 7)), horizon_days=3, quantile=level)


def test_the_default_policy_plans_on_the_upper_quartile() -> None:
    assert default_policy().mutual_aid.demand_quantile == 0.75


def test_cases_and_their_contacts_become_beds_for_the_policy_durations() -> None:
    cases = np.zeros((1, 7))
    cases[0, 0] = 2
    committed = {CENTRALISED_QUARANTINE_BED: np.full((1, 7), 3.0)}
    demand = project_demand(
        days=DAYS,
        projection=Projection(new_cases=cases, source="forecast_given", growth_rate=None),
        contacts_per_case=10,
        rules=rules(case_stay_days=4),
        committed=committed,
        planned_tubes=np.full((1, 7), 120.0),
    )
    assert demand.arrivals[CENTRALISED_QUARANTINE_BED][0].tolist() == [20, 0, 0, 0, 0, 0, 0]
    assert demand.needed[CENTRALISED_QUARANTINE_BED][0].tolist() == [23] * 5 + [3, 3]
    assert demand.needed[MAKESHIFT_HOSPITAL_BED][0].tolist() == [2, 2, 2, 2, 0, 0, 0]
    assert demand.needed[HOME_ISOLATION_PLACE][0].tolist() == [0] * 5 + [20, 20]
    assert demand.arrivals[LAB_TUBE][0].tolist() == [120] * 7


def test_contacts_counted_elsewhere_replace_the_ratio() -> None:
    demand = project_demand(
        days=DAYS[:2],
        projection=Projection(new_cases=np.ones((1, 2)), source="trend", growth_rate=None),
        contacts_per_case=10,
        rules=rules(),
        committed={},
        planned_tubes=np.zeros((1, 2)),
        new_contacts=np.array([[7.0, 0.0]]),
    )
    assert demand.new_contacts[0].tolist() == [7, 0]
