"""The district forecast: its mean field is the SEIR recursion, its ensemble is seeded and banded,
screening sooner never forecasts more infections, and calibration recovers a known outbreak."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq

from xietong.analytics.core.calibration import calibrate
from xietong.analytics.core.ensemble import forecast, run_scenarios
from xietong.analytics.core.seir import DiseaseParameters, OutbreakModel, Scenario

NO_SYMPTOM_FINDING = DiseaseParameters(
    latent_period_days=3.0, infectious_period_days=5.0, symptomatic_detection_per_day=0.0
)
NOBODY_FOUND = Scenario(screening_interval_days=None)


def _one_district(
    *,
    beta: float,
    population: float = 1e6,
    infectious: float = 10.0,
    exposed: float = 0.0,
    disease: DiseaseParameters = NO_SYMPTOM_FINDING,
) -> OutbreakModel:
    return OutbreakModel(
        population=np.array([population]),
        contact_share=np.eye(1),
        transmission_rate=np.array([beta]),
        susceptible=np.array([population - infectious - exposed]),
        exposed=np.array([exposed]),
        infectious=np.array([infectious]),
        awaiting_isolation=np.zeros(1),
        clean_days=np.zeros(1, dtype=np.int64),
        disease=disease,
    )


def _city(districts: int, seed: int, *, disease: DiseaseParameters | None = None) -> OutbreakModel:
    rng = np.random.default_rng(seed)
    population = rng.uniform(2e4, 1e6, size=districts)
    share = rng.uniform(0.0, 1.0, size=(districts, districts)) + np.diag(
        rng.uniform(0.0, 6.0, size=districts)
    )
    share /= share.sum(axis=1, keepdims=True)
    return OutbreakModel(
        population=population,
        contact_share=share,
        transmission_rate=rng.uniform(0.0, 1.5, size=districts),
        susceptible=population * rng.uniform(0.3, 0.97, size=districts),
        exposed=rng.uniform(0.0, 200.0, size=districts),
        infectious=rng.uniform(0.0, 200.0, size=districts),
        awaiting_isolation=rng.uniform(0.0, 50.0, size=districts),
        clean_days=rng.integers(0, 8, size=districts),
        disease=disease or DiseaseParameters(),
    )


# --- the mean field is the model's recursion -------------------------------------------------


def test_without_noise_one_district_follows_the_seir_recursion_written_by_hand() -> None:
    beta, n, i0 = 0.6, 1e6, 10.0
    result = forecast(
        _one_district(beta=beta, population=n, infectious=i0),
        scenario=NOBODY_FOUND,
        horizon_days=60,
        noise=False,
    )
    s, e, i = n - i0, 0.0, i0
    expected = []
    for _ in range(60):
        new = s * (1.0 - math.exp(-beta * i / n))
        onset, recovered = e / 3.0, i / 5.0
        s, e, i = s - new, e + new - onset, i + onset - recovered
        expected.append(new)
    assert result.runs == 1
    np.testing.assert_allclose(result.new_infections[0, :, 0], expected, rtol=1e-9)
    np.testing.assert_array_equal(result.new_detections, 0.0)


def _oracle(model: OutbreakModel, scenario: Scenario, days: int) -> np.ndarray:
    """Slow, obvious mean-field step: loops over districts and days, one line per rule."""
    d = model.districts
    m = model.contact_share.copy()
    if scenario.travel_cut is not None:
        for a in range(d):
            for b in range(d):
                if a != b:
                    m[a, b] *= (1 - scenario.travel_cut[a]) * (1 - scenario.travel_cut[b])
            m[a, a] = 0.0
            m[a, a] = 1.0 - m[a].sum()
    onset = 1.0 / model.disease.latent_period_days
    rec = 1.0 / model.disease.infectious_period_days
    screen = 0.0
    if scenario.screening_interval_days is not None:
        screen = (
            scenario.screening_coverage
            * scenario.test_sensitivity
            / scenario.screening_interval_days
        )
    det = 1 - (1 - screen) * (1 - model.disease.symptomatic_detection_per_day)
    delay = scenario.isolation_delay_days
    s, e, i = (list(map(float, x)) for x in (model.susceptible, model.exposed, model.infectious))
    waiting = [[0.0] * d for _ in range(delay)]
    for stage in range(min(delay, model.awaiting_isolation.shape[0])):
        waiting[stage] = list(map(float, model.awaiting_isolation[stage]))
    clean = list(map(int, model.clean_days))
    out = np.zeros((days, d))
    for t in range(days):
        prevalence = []
        for j in range(d):
            present = sum(m[k, j] * model.population[k] for k in range(d))
            sick = sum(m[k, j] * (i[k] + sum(w[k] for w in waiting)) for k in range(d))
            restricted = clean[j] < scenario.lift_after_clean_days
            contact = 1 - scenario.restriction_contact_reduction if restricted else 1.0
            prevalence.append(contact * sick / present)
        for k in range(d):
            force = model.transmission_rate[k] * sum(m[k, j] * prevalence[j] for j in range(d))
            new = s[k] * (1 - math.exp(-force))
            starts = e[k] * onset
            recovered = i[k] * rec
            found = (i[k] - recovered) * det
            if delay:
                for stage in range(delay - 1, 0, -1):
                    waiting[stage][k] = waiting[stage - 1][k] * (1 - rec)
                waiting[0][k] = found
            s[k] -= new
            e[k] += new - starts
            i[k] += starts - recovered - found
            clean[k] = 0 if found >= 0.5 else clean[k] + 1
            out[t, k] = new
    return out


@pytest.mark.parametrize("delay", [0, 1, 3])
def test_without_noise_the_city_follows_a_slow_oracle_of_every_rule(delay: int) -> None:
    model = _city(4, seed=7)
    scenario = Scenario(
        screening_interval_days=3.0,
        isolation_delay_days=delay,
        travel_cut=(0.0, 0.5, 1.0, 0.2),
        restriction_contact_reduction=0.4,
        lift_after_clean_days=3,
    )
    result = forecast(model, scenario=scenario, horizon_days=40, noise=False)
    np.testing.assert_allclose(
        result.new_infections[0], _oracle(model, scenario, 40), rtol=1e-10, atol=1e-9
    )


def test_without_noise_the_epidemic_ends_at_the_final_size_of_the_discrete_model() -> None:
    # S_{t+1} = S_t exp(-β I_t / N) and every infection spends 1/p_rec days in I on average, so
    # log(S_0 / S_∞) = β / (N p_rec) (I_0 + S_0 - S_∞): the final-size relation with R0 = β T_inf.
    beta, n, i0 = 0.5, 1e6, 5.0
    model = _one_district(beta=beta, population=n, infectious=i0)
    result = forecast(model, scenario=NOBODY_FOUND, horizon_days=3000, noise=False)
    infected = result.new_infections[0, :, 0].sum()
    s0 = n - i0
    r0 = beta * 5.0
    expected = brentq(lambda z: math.log(s0 / (s0 - z)) - r0 * (i0 + z) / n, 1.0, s0 * (1 - 1e-12))
    assert infected == pytest.approx(expected, rel=1e-9)


def test_without_noise_early_growth_is_the_dominant_root_of_the_linearised_map() -> None:
    # With S ≈ N: E' = (1-σ)E + βI, I' = σE + (1-γ)I; growth per day solves
    # (ρ - 1 + σ)(ρ - 1 + γ) = βσ, whose larger root is written out below.
    beta, sigma, gamma = 0.5, 1 / 3, 1 / 5
    model = _one_district(beta=beta, population=1e15, infectious=1.0)
    daily = forecast(model, scenario=NOBODY_FOUND, horizon_days=120, noise=False)
    series = daily.new_infections[0, :, 0]
    a, b = 1 - sigma, 1 - gamma
    rho = (a + b + math.sqrt((a - b) ** 2 + 4 * beta * sigma)) / 2
    assert series[-1] / series[-2] == pytest.approx(rho, rel=1e-6)


# --- screening, isolation, restrictions and travel ---------------------------------------------


@settings(max_examples=120)
@given(
    districts=st.integers(min_value=1, max_value=4),
    seed=st.integers(min_value=0, max_value=100_000),
    intervals=st.tuples(
        st.floats(min_value=1.0, max_value=7.0), st.floats(min_value=1.0, max_value=7.0)
    ),
    no_screening_at_all=st.booleans(),
    delay=st.integers(min_value=0, max_value=4),
    coverage=st.floats(min_value=0.0, max_value=1.0),
    horizon=st.integers(min_value=1, max_value=90),
)
def test_without_noise_more_frequent_screening_never_forecasts_more_infections(
    districts: int,
    seed: int,
    intervals: tuple[float, float],
    no_screening_at_all: bool,
    delay: int,
    coverage: float,
    horizon: int,
) -> None:
    # Restrictions are left out: a district that is found clean sooner is also unlocked sooner.
    model = _city(districts, seed)
    sooner, later = sorted(intervals)
    frequent = Scenario(
        screening_interval_days=sooner, isolation_delay_days=delay, screening_coverage=coverage
    )
    baseline = Scenario(
        screening_interval_days=None if no_screening_at_all else later,
        isolation_delay_days=delay,
        screening_coverage=coverage,
    )
    fewer = forecast(model, scenario=frequent, horizon_days=horizon, noise=False)
    more = forecast(model, scenario=baseline, horizon_days=horizon, noise=False)
    cumulative_fewer = fewer.new_infections[0].cumsum(axis=0)
    cumulative_more = more.new_infections[0].cumsum(axis=0)
    assert np.all(cumulative_fewer <= cumulative_more * (1 + 1e-12) + 1e-9)


@settings(max_examples=15)
@given(
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    sooner=st.sampled_from([1.0, 2.0]),
    later=st.sampled_from([3.0, 7.0, None]),
)
def test_with_common_random_numbers_more_frequent_screening_does_not_forecast_more(
    seed: int, sooner: float, later: float | None
) -> None:
    model = _city(3, seed=seed % 1000)
    comparison = run_scenarios(
        model,
        [
            Scenario(name="baseline", screening_interval_days=later),
            Scenario(name="frequent", screening_interval_days=sooner),
        ],
        horizon_days=21,
        runs=200,
        rng=np.random.default_rng(seed),
    )
    baseline, frequent = (f.new_infections.sum(axis=(1, 2)) for f in comparison.forecasts)
    paired = baseline - frequent
    # Paired runs: the mean difference is non-negative up to its own sampling error.
    standard_error = paired.std(ddof=1) / math.sqrt(paired.size)
    assert paired.mean() >= -4 * standard_error
    assert np.median(paired) == pytest.approx(comparison.infections_averted.median[1])


def test_a_longer_isolation_delay_forecasts_more_infections() -> None:
    model = _city(3, seed=11)
    totals = [
        forecast(
            model,
            scenario=Scenario(isolation_delay_days=delay),
            horizon_days=28,
            noise=False,
        ).new_infections.sum()
        for delay in (0, 1, 2, 4)
    ]
    assert totals == sorted(totals)
    assert totals[0] < totals[-1]


def test_restrictions_stop_transmission_until_the_clean_days_have_passed() -> None:
    model = _one_district(beta=0.6, infectious=100.0)
    scenario = Scenario(
        screening_interval_days=None, restriction_contact_reduction=1.0, lift_after_clean_days=3
    )
    daily = forecast(model, scenario=scenario, horizon_days=8, noise=False).new_infections[0, :, 0]
    # No one is found, so the district is clean on days 1, 2, 3 and unlocked from day 4.
    np.testing.assert_array_equal(daily[:3], 0.0)
    assert np.all(daily[3:] > 0)


def test_restrictions_cut_contacts_while_the_district_has_recent_detections() -> None:
    recent = _one_district(beta=0.6, infectious=1000.0, disease=DiseaseParameters())
    restricted = Scenario(restriction_contact_reduction=0.5, lift_after_clean_days=5)
    free = Scenario(restriction_contact_reduction=0.0)
    with_rule = forecast(recent, scenario=restricted, horizon_days=3, noise=False)
    without = forecast(recent, scenario=free, horizon_days=3, noise=False)
    assert np.all(with_rule.new_detections[0] >= 0.5)
    susceptible = recent.susceptible[0]
    force_with = -np.log1p(-with_rule.new_infections[0, 0, 0] / susceptible)
    force_without = -np.log1p(-without.new_infections[0, 0, 0] / susceptible)
    assert force_with == pytest.approx(0.5 * force_without, rel=1e-9)
    assert np.all(with_rule.new_infections[0] < without.new_infections[0])


def test_a_closed_district_imports_no_infection() -> None:
    model = _city(3, seed=5)
    quiet = OutbreakModel(
        population=model.population,
        contact_share=model.contact_share,
        transmission_rate=model.transmission_rate,
        susceptible=model.susceptible,
        exposed=np.array([model.exposed[0], 0.0, 0.0]),
        infectious=np.array([model.infectious[0], 0.0, 0.0]),
        awaiting_isolation=np.zeros(3),
        clean_days=model.clean_days,
        disease=model.disease,
    )
    open_city = forecast(quiet, horizon_days=20, noise=False).new_infections[0]
    closed = forecast(
        quiet, scenario=Scenario(travel_cut=(0.0, 1.0, 0.0)), horizon_days=20, noise=False
    ).new_infections[0]
    assert open_city[:, 1].sum() > 0
    np.testing.assert_array_equal(closed[:, 1], 0.0)
    assert closed[:, 2].sum() > 0


# --- the ensemble ------------------------------------------------------------------------------


def test_seeded_runs_are_reproducible_and_do_not_depend_on_workers() -> None:
    model = _city(5, seed=2)
    first = forecast(model, horizon_days=14, runs=600, rng=np.random.default_rng(42))
    again = forecast(model, horizon_days=14, runs=600, rng=np.random.default_rng(42), workers=3)
    other = forecast(model, horizon_days=14, runs=600, rng=np.random.default_rng(43))
    np.testing.assert_array_equal(first.new_infections, again.new_infections)
    np.testing.assert_array_equal(first.new_detections, again.new_detections)
    assert not np.array_equal(first.new_infections, other.new_infections)


@settings(max_examples=20)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1), runs=st.integers(1, 80))
def test_the_ensemble_median_lies_between_the_quartiles(seed: int, runs: int) -> None:
    result = forecast(
        _city(3, seed=seed % 97), horizon_days=14, runs=runs, rng=np.random.default_rng(seed)
    )
    assert result.infections.median.shape == (14, 3)
    assert result.city_detections.median.shape == (14,)
    for bands in (
        result.infections,
        result.detections,
        result.city_infections,
        result.city_detections,
    ):
        assert np.all(bands.p05 <= bands.p25)
        assert np.all(bands.p25 <= bands.median)
        assert np.all(bands.median <= bands.p75)
        assert np.all(bands.p75 <= bands.p95)


def test_draws_are_whole_people_and_never_exceed_the_susceptible() -> None:
    model = _city(4, seed=3)
    result = forecast(model, horizon_days=30, runs=50, rng=np.random.default_rng(0))
    assert np.all(result.new_infections == np.round(result.new_infections))
    assert np.all(result.new_infections.sum(axis=1) <= np.floor(model.susceptible))
    assert np.all(result.new_detections >= 0)


def test_with_large_counts_the_ensemble_mean_is_close_to_the_mean_field() -> None:
    model = _one_district(beta=0.5, population=5e7, infectious=20_000.0, exposed=20_000.0)
    noisy = forecast(model, horizon_days=10, runs=400, rng=np.random.default_rng(7))
    mean_field = forecast(model, horizon_days=10, noise=False)
    np.testing.assert_allclose(
        noisy.new_infections.mean(axis=0), mean_field.new_infections[0], rtol=0.01
    )


def test_identical_scenarios_on_common_random_numbers_give_identical_forecasts() -> None:
    model = _city(3, seed=9)
    comparison = run_scenarios(
        model,
        [Scenario(name="a"), Scenario(name="b")],
        horizon_days=14,
        runs=100,
        rng=np.random.default_rng(1),
    )
    first, second = comparison.forecasts
    np.testing.assert_array_equal(first.new_infections, second.new_infections)
    np.testing.assert_array_equal(comparison.infections_averted.p95, 0.0)


def test_daily_screening_averts_infections_against_no_screening() -> None:
    comparison = run_scenarios(
        _city(4, seed=4),
        [Scenario(screening_interval_days=None), Scenario(screening_interval_days=1.0)],
        horizon_days=28,
        runs=200,
        rng=np.random.default_rng(3),
    )
    assert comparison.infections_averted.median[0] == 0.0
    assert comparison.infections_averted.p05[1] > 0.0
    assert comparison.total_infections.median[1] < comparison.total_infections.median[0]


# --- calibration -------------------------------------------------------------------------------


def _observed_outbreak(
    *, beta: np.ndarray, scenario: Scenario, days: int = 14
) -> tuple[OutbreakModel, np.ndarray, np.ndarray]:
    """A mean-field outbreak in separate districts, run past its transient, and what follows."""
    d = beta.size
    population = np.full(d, 1e13)
    seeded = OutbreakModel(
        population=population,
        contact_share=np.eye(d),
        transmission_rate=beta,
        susceptible=population - 1.0,
        exposed=np.zeros(d),
        infectious=np.ones(d),
        awaiting_isolation=np.zeros(d),
        clean_days=np.zeros(d, dtype=np.int64),
    )
    run = forecast(seeded, scenario=scenario, horizon_days=100 + days, noise=False)
    detections = run.new_detections[0]
    return seeded, detections[100 - days + 1 : 101], detections[101:]


def test_calibration_recovers_the_growth_and_transmission_of_a_known_outbreak() -> None:
    scenario = Scenario(screening_interval_days=2.0, isolation_delay_days=2)
    beta = np.array([0.35, 0.5, 0.8])
    seeded, observed, following = _observed_outbreak(beta=beta, scenario=scenario)
    calibration = calibrate(
        detections=observed,
        population=seeded.population,
        contact_share=np.eye(3),
        scenario=scenario,
        min_total_detections=0,
    )
    true_growth = np.log(observed[-1] / observed[-2])
    np.testing.assert_allclose(calibration.growth_rate, true_growth, rtol=1e-4)
    np.testing.assert_allclose(calibration.model.transmission_rate, beta, rtol=1e-4)
    assert not calibration.pooled.any()
    # The calibrated forecast continues the observed trend.
    ahead = forecast(calibration.model, scenario=scenario, horizon_days=7, noise=False)
    np.testing.assert_allclose(ahead.new_detections[0], following[:7], rtol=1e-4)


def test_calibrated_reproduction_number_is_beta_times_the_infectious_days() -> None:
    # Isolated at once (no delay): an infection stays in I for 1 / (1 - (1-γ)(1-p)) days.
    scenario = Scenario(screening_interval_days=1.0, isolation_delay_days=0)
    beta = np.array([0.4, 0.9])
    seeded, observed, _ = _observed_outbreak(beta=beta, scenario=scenario)
    calibration = calibrate(
        detections=observed,
        population=seeded.population,
        contact_share=np.eye(2),
        scenario=scenario,
        min_total_detections=0,
    )
    found = scenario.detection_probability(DiseaseParameters())
    days_infectious = 1.0 / (1.0 - (1 - 1 / 5.0) * (1 - found))
    np.testing.assert_allclose(calibration.reproduction_number, beta * days_infectious, rtol=1e-5)


def test_districts_with_few_detections_are_pooled_towards_the_city_not_copied() -> None:
    t = np.arange(10)
    busy = np.round(50 * np.exp(0.1 * t))
    sparse = np.array([0, 1, 0, 0, 2, 0, 1, 0, 0, 1], dtype=float)
    rising = np.array([0, 0, 0, 0, 0, 1, 1, 2, 2, 3], dtype=float)
    silent = np.zeros(10)
    calibration = calibrate(
        detections=np.column_stack([busy, sparse, rising, silent]),
        population=np.full(4, 1e6),
        contact_share=np.eye(4),
    )
    alone = calibrate(
        detections=np.column_stack([busy, sparse, rising, silent]),
        population=np.full(4, 1e6),
        contact_share=np.eye(4),
        min_total_detections=0,
    )
    assert calibration.pooled.tolist() == [False, True, True, True]
    city = np.log((busy + sparse + rising).astype(float))
    city_rate = np.polyfit(t, city, 1)[0]
    rates = calibration.growth_rate
    # The silent district is the city's exactly; the sparse ones lie between their own and the
    # city's rate, each nearer the city, and differ from each other.
    assert rates[3] == pytest.approx(city_rate, abs=0.01)
    for k in (1, 2):
        own = alone.growth_rate[k]
        assert min(own, rates[3]) <= rates[k] <= max(own, rates[3])
        assert abs(rates[k] - rates[3]) < abs(own - rates[3])
    assert len(set(np.round(rates[1:], 6))) == 3
    assert calibration.model.infectious[3] == 0.0
    assert calibration.model.clean_days.tolist() == [0, 0, 0, 10]


def test_a_one_day_jump_does_not_imply_an_absurd_growth_rate() -> None:
    jump = np.array([0, 0, 0, 0, 0, 0, 40], dtype=float)
    calibration = calibrate(
        detections=jump[:, None], population=np.array([1e6]), contact_share=np.eye(1)
    )
    assert calibration.growth_rate[0] == pytest.approx(0.5)


def test_a_district_its_outbreak_exhausted_is_calibrated_within_its_residents() -> None:
    growing = np.round(10 * np.exp(0.3 * np.arange(10)))
    calibration = calibrate(
        detections=growing[:, None], population=np.array([260.0]), contact_share=np.eye(1)
    )
    model = calibration.model
    in_play = model.exposed + model.infectious + model.awaiting_isolation.sum(axis=0)
    assert in_play[0] == pytest.approx(260.0) and model.susceptible[0] == 0.0


# --- refusals ----------------------------------------------------------------------------------


def test_bad_input_is_refused_naming_the_argument() -> None:
    model = _city(2, seed=0)
    with pytest.raises(ValueError, match="screening_interval_days"):
        Scenario(screening_interval_days=0.5)
    with pytest.raises(ValueError, match="isolation_delay_days"):
        Scenario(isolation_delay_days=-1)
    with pytest.raises(ValueError, match="travel_cut"):
        forecast(model, scenario=Scenario(travel_cut=(0.1, 0.2, 0.3)), noise=False)
    with pytest.raises(ValueError, match="rng"):
        forecast(model)
    with pytest.raises(ValueError, match="horizon_days"):
        forecast(model, horizon_days=0, noise=False)
    with pytest.raises(ValueError, match="contact_share"):
        OutbreakModel(
            population=np.ones(2),
            contact_share=np.ones((2, 2)),
            transmission_rate=np.ones(2),
            susceptible=np.ones(2),
            exposed=np.zeros(2),
            infectious=np.zeros(2),
            awaiting_isolation=np.zeros(2),
            clean_days=np.zeros(2, dtype=np.int64),
        )
    with pytest.raises(ValueError, match="detections"):
        calibrate(detections=np.ones((2, 2)), population=np.ones(2), contact_share=np.eye(2))
    with pytest.raises(ValueError, match="scenario"):
        calibrate(
            detections=np.ones((5, 1)),
            population=np.ones(1),
            contact_share=np.eye(1),
            scenario=NOBODY_FOUND,
            disease=NO_SYMPTOM_FINDING,
        )
