"""Rt as EpiEstim computes it: published reference values, a slow obvious oracle, properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from xietong.analytics.core.distributions import (
    OMICRON_SERIAL_INTERVAL_MEAN_DAYS,
    OMICRON_SERIAL_INTERVAL_SD_DAYS,
    check_serial_interval,
    discretise_serial_interval,
    normalise_serial_interval,
    omicron_serial_interval,
)
from xietong.analytics.core.rt import estimate_rt, total_infectiousness

# Provenance: EpiEstim 3.0.0 (R package, mrc-ide/EpiEstim), data set `Flu2009` (pandemic
# influenza in a school in Pennsylvania, 2009-04-27 to 2009-05-28) and the expected values of
# its test snapshot `tests/testthat/_snaps/estimate_R.md`, as transcribed in the project's
# reference sheet rt-reference-values.md.
FLU2009_INCIDENCE = [1, 1, 0, 2, 5, 3, 3, 3, 6, 2, 5, 9, 13, 12, 13, 11, 12, 6, 6, 6, 3, 1, 0, 2]
FLU2009_INCIDENCE += [0, 0, 0, 0, 2, 0, 2, 0]
FLU2009_SI_DISTR = [0, 0.233, 0.359, 0.198, 0.103, 0.053, 0.027, 0.014, 0.007, 0.003, 0.002, 0.001]

TOLERANCE = 1e-6


def _window(estimate, t_start: int, t_end: int) -> int:
    (index,) = np.flatnonzero((estimate.t_start == t_start) & (estimate.t_end == t_end))
    return int(index)


def test_flu2009_non_parametric_si_matches_epiestim() -> None:
    rt = estimate_rt(FLU2009_INCIDENCE, serial_interval=FLU2009_SI_DISTR)

    first = _window(rt, 2, 8)
    assert rt.mean[0, first] == pytest.approx(1.7356089, abs=TOLERANCE)
    assert rt.sd[0, first] == pytest.approx(0.40908694, abs=TOLERANCE)
    assert rt.quantile(0.025)[0, first] == pytest.approx(1.02863184, abs=TOLERANCE)
    assert rt.median[0, first] == pytest.approx(1.7035760, abs=TOLERANCE)
    assert rt.quantile(0.975)[0, first] == pytest.approx(2.6244959, abs=TOLERANCE)
    assert rt.mean[0, _window(rt, 3, 9)] == pytest.approx(1.7490494, abs=TOLERANCE)
    last = _window(rt, 26, 32)
    assert rt.mean[0, last] == pytest.approx(1.0040161, abs=TOLERANCE)
    assert rt.upper[0, last] == pytest.approx(2.0565439, abs=TOLERANCE)


def test_flu2009_parametric_si_matches_epiestim() -> None:
    weights = discretise_serial_interval(mean=2.6, sd=1.5, max_days=31)
    expected_w1_to_w5 = [0.2331721, 0.3585794, 0.1981108, 0.1033427, 0.05290518]
    np.testing.assert_allclose(weights[1:6], expected_w1_to_w5, rtol=0, atol=TOLERANCE)

    rt = estimate_rt(FLU2009_INCIDENCE, serial_interval=weights)

    first = _window(rt, 2, 8)
    assert rt.mean[0, first] == pytest.approx(1.7357977, abs=TOLERANCE)
    assert rt.sd[0, first] == pytest.approx(0.40913143, abs=TOLERANCE)
    assert rt.lower[0, first] == pytest.approx(1.02874370, abs=TOLERANCE)
    assert rt.upper[0, first] == pytest.approx(2.6247813, abs=TOLERANCE)
    assert rt.mean[0, _window(rt, 26, 32)] == pytest.approx(0.9975352, abs=TOLERANCE)


def test_windows_follow_epiestim_numbering_start_on_day_2_and_are_labelled_by_their_end() -> None:
    rt = estimate_rt(FLU2009_INCIDENCE, serial_interval=FLU2009_SI_DISTR, window_days=7)

    assert rt.t_start.tolist() == list(range(2, 27))
    assert rt.t_end.tolist() == list(range(8, 33))
    assert rt.mean.shape == (1, 25)
    assert rt.quantiles.shape == (5, 1, 25)


def test_discretised_serial_interval_has_no_weight_on_day_0_and_is_not_renormalised() -> None:
    weights = discretise_serial_interval(mean=2.6, sd=1.5, max_days=5)

    assert weights[0] == 0.0
    assert np.all(weights >= 0)
    assert weights.sum() < 0.99  # five days leave a visible tail, as in EpiEstim
    assert normalise_serial_interval(
        discretise_serial_interval(mean=2.6, sd=1.5, max_days=31)
    ).sum() == pytest.approx(1.0, abs=1e-15)


def test_omicron_default_is_mean_3_sd_1_5_days() -> None:
    weights = omicron_serial_interval()
    days = np.arange(weights.size)

    assert (OMICRON_SERIAL_INTERVAL_MEAN_DAYS, OMICRON_SERIAL_INTERVAL_SD_DAYS) == (3.0, 1.5)
    assert float(days @ weights) == pytest.approx(3.0, abs=1e-3)
    assert check_serial_interval(weights).sum() == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ([0.1, 0.5, 0.4], r"serial_interval\[0\]"),
        ([0.0, 0.7, 0.2], "sum to 1"),
        ([0.0, 1.2, -0.2], "non-negative"),
        ([[0.0, 1.0]], "one-dimensional"),
        ([0.0, float("nan")], "finite"),
    ],
)
def test_a_bad_serial_interval_is_refused_naming_the_argument(weights, message) -> None:
    with pytest.raises(ValueError, match=message):
        estimate_rt(FLU2009_INCIDENCE, serial_interval=weights)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mean": 1.0, "sd": 1.0, "max_days": 10}, "mean"),
        ({"mean": 3.0, "sd": 0.0, "max_days": 10}, "sd"),
        ({"mean": 3.0, "sd": 1.0, "max_days": 0}, "max_days"),
    ],
)
def test_a_bad_parametric_serial_interval_is_refused_naming_the_argument(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        discretise_serial_interval(**kwargs)


def test_bad_incidence_is_refused_naming_the_argument() -> None:
    with pytest.raises(ValueError, match="incidence must be non-negative"):
        estimate_rt([1, 2, -1, 4, 5, 6, 7, 8, 9], serial_interval=FLU2009_SI_DISTR)
    with pytest.raises(ValueError, match="window_days"):
        estimate_rt([1, 2, 3], serial_interval=FLU2009_SI_DISTR, window_days=7)
    with pytest.raises(ValueError, match="imported must have the shape"):
        estimate_rt(FLU2009_INCIDENCE, serial_interval=FLU2009_SI_DISTR, imported=[1, 2])


def test_a_window_with_no_case_and_no_infectiousness_returns_the_prior() -> None:
    rt = estimate_rt(np.zeros(20), serial_interval=FLU2009_SI_DISTR)

    np.testing.assert_array_equal(rt.mean, 5.0)
    np.testing.assert_array_equal(rt.sd, 5.0)
    np.testing.assert_array_equal(rt.infectiousness, 0.0)
    assert np.all(np.isfinite(rt.quantiles))


def test_cases_from_nowhere_update_the_prior_by_the_counts_alone() -> None:
    incidence = np.zeros(20)
    incidence[-1] = 4  # nothing before it, so Λ = 0 in the last window

    rt = estimate_rt(incidence, serial_interval=FLU2009_SI_DISTR)

    assert rt.infectiousness[0, -1] == 0.0
    assert rt.mean[0, -1] == pytest.approx((1 + 4) * 5.0)


def test_windows_ending_before_the_mean_serial_interval_are_nan_as_in_epiestim() -> None:
    late = np.zeros(12)
    late[10] = 1.0  # mean serial interval 10 days
    rt = estimate_rt(np.ones(20), serial_interval=late, window_days=3)

    too_early = rt.t_end <= 10
    assert np.all(np.isnan(rt.mean[0, too_early]))
    assert np.all(np.isfinite(rt.mean[0, ~too_early]))


def test_imported_cases_feed_infectiousness_but_not_the_count_of_local_cases() -> None:
    local = np.array([0, 2, 3, 5, 4, 6, 8, 7, 9, 10], dtype=float)
    imported = np.array([3, 1, 0, 2, 0, 0, 1, 0, 0, 0], dtype=float)

    split = estimate_rt(local, imported=imported, serial_interval=FLU2009_SI_DISTR)
    all_local = estimate_rt(local + imported, serial_interval=FLU2009_SI_DISTR)

    np.testing.assert_allclose(split.infectiousness, all_local.infectiousness)
    assert np.all(split.local_cases < all_local.local_cases)


def test_local_cases_on_day_1_are_counted_as_imported() -> None:
    local = np.array([5, 2, 3, 5, 4, 6, 8, 7, 9, 10], dtype=float)
    moved = local.copy()
    moved[0] = 0

    as_local = estimate_rt(local, serial_interval=FLU2009_SI_DISTR)
    as_imported = estimate_rt(
        moved, imported=np.r_[5.0, np.zeros(9)], serial_interval=FLU2009_SI_DISTR
    )

    np.testing.assert_array_equal(as_local.mean, as_imported.mean)


# A slow, obvious oracle: EpiEstim's algorithm written as loops, one district and day at a time.
def _oracle_rt(local_rows, imported_rows, weights, window, prior_mean, prior_sd):
    a = (prior_mean / prior_sd) ** 2
    b = prior_sd**2 / prior_mean
    mean_si = sum(k * w for k, w in enumerate(weights))
    means, sds, lowers, uppers = [], [], [], []
    for local_row, imported_row in zip(local_rows, imported_rows, strict=True):
        local = list(local_row)
        imported = list(imported_row)
        imported[0] += local[0]
        local[0] = 0.0
        total = [x + y for x, y in zip(local, imported, strict=True)]
        days = len(total)
        lam = [0.0] * days
        for t in range(1, days):
            for s in range(1, t + 1):
                if s < len(weights):
                    lam[t] += weights[s] * total[t - s]
        row_mean, row_sd, row_lower, row_upper = [], [], [], []
        for start in range(1, days - window + 1):
            end = start + window - 1
            if end + 1 <= mean_si:
                row_mean.append(math.nan)
                row_sd.append(math.nan)
                row_lower.append(math.nan)
                row_upper.append(math.nan)
                continue
            shape = a + sum(local[start : end + 1])
            scale = 1.0 / (1.0 / b + sum(lam[start : end + 1]))
            row_mean.append(shape * scale)
            row_sd.append(math.sqrt(shape) * scale)
            row_lower.append(stats.gamma.ppf(0.025, shape, scale=scale))
            row_upper.append(stats.gamma.ppf(0.975, shape, scale=scale))
        means.append(row_mean)
        sds.append(row_sd)
        lowers.append(row_lower)
        uppers.append(row_upper)
    return np.array(means), np.array(sds), np.array(lowers), np.array(uppers)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_vectorised_rt_agrees_with_a_slow_loop_on_random_data(seed: int) -> None:
    rng = np.random.default_rng(seed)
    districts, days, window = 4, 40, int(rng.integers(1, 10))
    local = rng.poisson(rng.uniform(0, 60, size=(districts, 1)), size=(districts, days))
    imported = rng.poisson(2.0, size=(districts, days))
    weights = discretise_serial_interval(
        mean=float(rng.uniform(1.5, 6.0)), sd=float(rng.uniform(0.5, 3.0)), max_days=25
    )
    prior_mean, prior_sd = float(rng.uniform(1, 6)), float(rng.uniform(1, 6))

    rt = estimate_rt(
        local,
        imported=imported,
        serial_interval=weights,
        window_days=window,
        prior_mean=prior_mean,
        prior_sd=prior_sd,
    )
    mean, sd, lower, upper = _oracle_rt(
        local.astype(float), imported.astype(float), list(weights), window, prior_mean, prior_sd
    )

    np.testing.assert_allclose(rt.mean, mean, rtol=1e-12)
    np.testing.assert_allclose(rt.sd, sd, rtol=1e-12)
    np.testing.assert_allclose(rt.lower, lower, rtol=1e-10)
    np.testing.assert_allclose(rt.upper, upper, rtol=1e-10)


def test_total_infectiousness_is_the_serial_interval_weighted_sum_of_past_cases() -> None:
    incidence = np.array([[4.0, 0.0, 1.0, 2.0]])
    weights = [0.0, 0.5, 0.3, 0.2]

    lam = total_infectiousness(incidence, weights)

    np.testing.assert_allclose(lam, [[0.0, 2.0, 1.2, 0.8 + 0.5]])


daily_counts = arrays(
    np.int64,
    st.tuples(st.integers(1, 4), st.integers(9, 40)),
    elements=st.integers(0, 5_000),
)


@settings(max_examples=60)
@given(incidence=daily_counts, window=st.integers(1, 8))
def test_posterior_mean_and_credible_interval_are_never_negative(
    incidence: np.ndarray, window: int
) -> None:
    rt = estimate_rt(incidence, serial_interval=omicron_serial_interval(), window_days=window)

    known = ~np.isnan(rt.mean)
    assert np.all(rt.mean[known] >= 0)
    assert np.all(rt.quantiles[:, known] >= 0)
    assert np.all(rt.lower[known] <= rt.median[known])
    assert np.all(rt.median[known] <= rt.upper[known])


@settings(max_examples=60)
@given(
    incidence=arrays(np.int64, st.integers(9, 40), elements=st.integers(200, 2_000)),
    factor=st.integers(2, 50),
)
def test_scaling_large_counts_leaves_the_posterior_mean_nearly_unchanged(
    incidence: np.ndarray, factor: int
) -> None:
    # mean = (a + ΣI) / (1/b + ΣΛ) differs from ΣI / ΣΛ by less than a/ΣI + (1/b)/ΣΛ relative;
    # with every day >= 200 cases, ΣI >= 1,400 and ΣΛ >= ~900 over a 7-day window, so both
    # means lie within 0.15 % of the same ratio: 0.5 % is a safe tolerance.
    weights = omicron_serial_interval()
    base = estimate_rt(incidence, serial_interval=weights)
    scaled = estimate_rt(incidence * factor, serial_interval=weights)

    np.testing.assert_allclose(scaled.mean, base.mean, rtol=5e-3)


@settings(max_examples=40)
@given(incidence=daily_counts)
def test_many_districts_at_once_equal_one_district_at_a_time(incidence: np.ndarray) -> None:
    weights = omicron_serial_interval()
    together = estimate_rt(incidence, serial_interval=weights)

    for district, row in enumerate(incidence):
        alone = estimate_rt(row, serial_interval=weights)
        np.testing.assert_allclose(together.mean[district], alone.mean[0], rtol=1e-12)
        np.testing.assert_allclose(
            together.quantiles[:, district], alone.quantiles[:, 0], rtol=1e-12
        )
