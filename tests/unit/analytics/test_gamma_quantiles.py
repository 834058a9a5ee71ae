"""Posterior quantiles of Rt: the fast gamma quantile equals SciPy's ppf to double precision."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from xietong.analytics.core.rt import DEFAULT_QUANTILE_LEVELS, gamma_quantiles

LEVELS = (1e-6, 1e-4, 0.001, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975, 0.99)
LEVELS += (0.999, 1 - 1e-4, 1 - 1e-6)


def oracle(levels: tuple[float, ...], shape: np.ndarray) -> np.ndarray:
    return np.asarray(stats.gamma.ppf(np.asarray(levels)[:, np.newaxis], shape))


def test_quantiles_equal_scipys_ppf_to_double_precision_over_six_decades_of_shape() -> None:
    shape = np.concatenate([np.geomspace(0.05, 1e6, 2000), np.arange(1.0, 300.0)])

    got = gamma_quantiles(LEVELS, shape)

    np.testing.assert_allclose(got, oracle(LEVELS, shape), rtol=1e-13, atol=0)


def test_quantiles_of_posterior_like_shapes_equal_scipys_ppf() -> None:
    # Prior shape 1 plus whole case counts, as in every Rt posterior under EpiEstim's prior.
    rng = np.random.default_rng(7)
    shape = 1.0 + rng.poisson(rng.uniform(0, 3000, size=(40, 113))).astype(np.float64)

    got = gamma_quantiles(DEFAULT_QUANTILE_LEVELS, shape)

    assert got.shape == (5, 40, 113)
    expected = stats.gamma.ppf(np.asarray(DEFAULT_QUANTILE_LEVELS).reshape(-1, 1, 1), shape)
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=0)


def test_shape_one_is_the_exponential_distribution() -> None:
    levels = (0.025, 0.5, 0.975)

    got = gamma_quantiles(levels, np.ones(3))

    np.testing.assert_allclose(got[:, 0], -np.log1p(-np.asarray(levels)), rtol=1e-15)


def test_unknown_shapes_give_nan_and_the_rest_is_unaffected() -> None:
    got = gamma_quantiles((0.5,), np.array([[np.nan, 0.0], [-1.0, 2.0]]))

    assert got.shape == (1, 2, 2)
    assert np.isnan(got[0, 0, 0]) and np.isnan(got[0, 0, 1]) and np.isnan(got[0, 1, 0])
    assert got[0, 1, 1] == pytest.approx(stats.gamma.ppf(0.5, 2.0), rel=1e-14)


def test_no_level_or_no_shape_gives_an_empty_result() -> None:
    assert gamma_quantiles((), np.ones(3)).shape == (0, 3)
    assert gamma_quantiles((0.5,), np.ones((0, 4))).shape == (1, 0, 4)


def test_a_level_outside_zero_and_one_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="quantile_levels"):
        gamma_quantiles((0.5, 1.0), np.ones(2))


@settings(max_examples=200)
@given(
    # Beyond these, SciPy's incomplete gamma function itself loses digits (a = 8e6 at p = 6e-8
    # is 2 % off), so both methods are off the true quantile by as much.
    shape=st.floats(min_value=0.01, max_value=1e6, allow_nan=False),
    levels=st.lists(st.floats(min_value=1e-6, max_value=1 - 1e-6), min_size=1, max_size=6),
)
def test_quantiles_rise_with_the_level_and_match_the_oracle(
    shape: float, levels: list[float]
) -> None:
    ordered = tuple(sorted(set(levels)))

    got = gamma_quantiles(ordered, np.array([shape]))[:, 0]

    assert np.all(np.diff(got) >= 0)
    np.testing.assert_allclose(got, oracle(ordered, np.array([shape]))[:, 0], rtol=1e-12)
