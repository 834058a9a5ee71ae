"""What districts will need: new cases projected (a given forecast, else the backtested forecast
at the policy's quantile, capped by the susceptibles), turned into beds for the policy's
durations and tubes for the screening plan."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xietong.analytics.core.recalibrated import recalibrated_quantiles
from xietong.analytics.core.scores import HUB_QUANTILE_LEVELS
from xietong.mutual_aid.outlook.demand import (
    QUANTILE_RUNS,
    QUANTILE_SEED,
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


def test_no_case_seen_means_no_case_ahead() -> None:
    projection = project_new_cases(
        np.zeros((2, 7)), horizon_days=3, population=np.array([1e6, 1e6]), quantile=0.75
    )
    assert projection.source == "growth_recalibrated" and not projection.new_cases.any()


def test_demand_read_at_a_higher_quantile_of_the_forecast_is_higher_every_day() -> None:
    noisy = [5, 9, 4, 7, 6, 8, 5, 6, 7, 4]
    history = np.vstack([np.round(30 * np.exp(0.1 * np.arange(10))), noisy])
    lower = project_new_cases(history, horizon_days=7, quantile=0.25)
    median = project_new_cases(history, horizon_days=7, quantile=0.5)
    upper = project_new_cases(history, horizon_days=7, quantile=0.75)
    assert upper.source == "growth_recalibrated" and upper.quantile == 0.75
    assert np.all(lower.new_cases <= median.new_cases)
    assert np.all(median.new_cases <= upper.new_cases)
    assert np.all(upper.new_cases[:, -1] > median.new_cases[:, -1])  # the band widens ahead
    # A fixed seed: the same counts give the same demand, so the same plan.
    again = project_new_cases(history, horizon_days=7, quantile=0.75)
    assert np.array_equal(again.new_cases, upper.new_cases)


# A growing district with a census population and a functional zone without one, 28 days as the
# outlook reads them (the model's week and the recalibration's 14 earlier forecast dates).
GROWING = np.vstack([np.round(20 * np.exp(0.12 * np.arange(28))), np.full(28, 4.0)])


def test_every_district_is_read_at_the_recalibrated_forecast_s_quantile() -> None:
    # Whether a district has a population or not, its new cases are the quantile of the
    # forecast the backtests score and the forecast page shows (`analytics.expected` reads the
    # same function with the same runs and seed), at the policy's level.
    level = default_policy().mutual_aid.demand_quantile
    population = np.array([1.5e6, np.nan])
    projection = project_new_cases(GROWING, horizon_days=7, population=population, quantile=level)
    recalibrated = recalibrated_quantiles(
        GROWING.T, horizon_days=7, rng=np.random.default_rng(QUANTILE_SEED), runs=QUANTILE_RUNS
    )  # (T, D, Q)
    assert level in HUB_QUANTILE_LEVELS  # 0.75 is one of the backtests' levels: no interpolation
    at_level = recalibrated[..., HUB_QUANTILE_LEVELS.index(level)].T
    assert projection.source == "growth_recalibrated" and projection.quantile == level
    np.testing.assert_allclose(projection.new_cases, at_level, rtol=1e-12)
    assert np.all(projection.new_cases[0] < 1.5e6 - GROWING[0].sum())  # far from the cap here


def test_a_quantile_between_the_backtests_levels_is_read_linearly() -> None:
    low, high = (project_new_cases(GROWING, horizon_days=5, quantile=q) for q in (0.7, 0.75))
    between = project_new_cases(GROWING, horizon_days=5, quantile=0.725)
    np.testing.assert_allclose(between.new_cases, (low.new_cases + high.new_cases) / 2)


@given(
    population=st.floats(0, 5_000, allow_nan=False),
    level=st.sampled_from([0.5, 0.75, 0.9, 0.99]),
)
@settings(max_examples=25, deadline=None)
def test_new_cases_never_exceed_the_susceptibles_left(population: float, level: float) -> None:
    # A population the outbreak nearly exhausts: the forecast's quantiles would pass it.
    projection = project_new_cases(
        GROWING, horizon_days=14, population=np.array([population, np.nan]), quantile=level
    )
    left = max(population - GROWING[0].sum(), 0.0) if population > 0 else np.inf
    assert np.all(projection.new_cases[0] <= left)
    assert np.all(projection.new_cases >= 0)
    # The zone without a population of its own has no cap: it keeps the forecast.
    free = project_new_cases(GROWING, horizon_days=14, quantile=level)
    assert np.array_equal(projection.new_cases[1], free.new_cases[1])


def test_a_population_the_outbreak_exhausted_caps_the_trend_and_the_recent_mean() -> None:
    population = np.array([GROWING[0].sum() + 3.0, np.nan])
    trend = project_new_cases(GROWING, horizon_days=5, population=population)
    assert trend.source == "trend" and trend.new_cases[0].tolist() == [3.0] * 5
    mean = project_new_cases(np.array([[4.0, 6.0]]), horizon_days=2, population=np.array([12.0]))
    assert mean.source == "recent_mean" and mean.new_cases.tolist() == [[2.0, 2.0]]


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
