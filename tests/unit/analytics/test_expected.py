"""The forecast the pages show (`analytics.expected`): the backtested forecast's quantiles,
ordered, never negative and never above the susceptibles a district still holds."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from xietong.analytics.core.recalibrated import recalibrated_quantiles
from xietong.analytics.expected import (
    HISTORY_DAYS,
    HORIZON_DAYS,
    ExpectedInputs,
    expected_forecast,
    expected_quantiles,
    forget_quantiles,
)
from xietong.analytics.schemas import BandsRead

LAST_DAY = date(2022, 11, 13)


def inputs(counts: np.ndarray, population: np.ndarray) -> ExpectedInputs:
    return ExpectedInputs(
        last_day=LAST_DAY,
        days=tuple(LAST_DAY - timedelta(days=k) for k in range(counts.shape[0] - 1, -1, -1)),
        codes=tuple(f"5001{d:02d}" for d in range(counts.shape[1])),
        names=tuple(f"区{d}" for d in range(counts.shape[1])),
        counts=counts,
        population=population,
        series="nowcast",
    )


def ordered(bands: BandsRead) -> np.ndarray:
    values = np.array([bands.p05, bands.p25, bands.median, bands.p75, bands.p95])
    assert np.all(np.diff(values, axis=0) >= 0)
    assert np.all(values >= 0)
    return values


@settings(max_examples=12)
@given(
    start=st.lists(st.integers(0, 60), min_size=3, max_size=3),
    growth=st.lists(st.floats(-0.2, 0.35), min_size=3, max_size=3),
    population=st.lists(st.integers(50, 3000), min_size=3, max_size=3),
    unknown=st.integers(0, 2),
    seed=st.integers(0, 2**16),
)
def test_the_bands_are_ordered_and_within_the_susceptibles(
    start: list[int], growth: list[float], population: list[int], unknown: int, seed: int
) -> None:
    t = np.arange(HISTORY_DAYS)[:, None]
    rng = np.random.default_rng(seed)
    counts = rng.poisson(np.array(start) * np.exp(np.array(growth) * t)).astype(np.float64)
    people = np.array(population, dtype=np.float64)
    people[unknown] = np.nan  # a functional zone: no census population, no cap
    read = expected_forecast(inputs(counts, people))
    for d, district in enumerate(read.districts):
        values = ordered(district.infections)
        if d == unknown:
            assert district.susceptible is None
        else:
            assert district.susceptible is not None
            assert np.all(values <= district.susceptible)
    city = ordered(read.city)
    assert read.city_susceptible is not None
    assert np.all(city <= read.city_susceptible)


def test_the_quantiles_are_the_recalibrated_growth_forecast_of_the_same_history() -> None:
    t = np.arange(HISTORY_DAYS)[:, None]
    counts = np.random.default_rng(7).poisson(5 * np.exp(0.08 * t) * [1, 2]).astype(float)
    read = expected_forecast(inputs(counts, np.array([np.nan, np.nan])))
    every = recalibrated_quantiles(counts, horizon_days=HORIZON_DAYS, rng=np.random.default_rng(0))
    city = recalibrated_quantiles(
        counts.sum(axis=1, keepdims=True), horizon_days=HORIZON_DAYS, rng=np.random.default_rng(0)
    )
    # The hub levels 0.05, 0.25, 0.5, 0.75 and 0.95.
    for k, field in zip((2, 6, 11, 16, 20), ("p05", "p25", "median", "p75", "p95"), strict=True):
        assert getattr(read.districts[1].infections, field) == every[:, 1, k].tolist()
        assert getattr(read.city, field) == city[:, 0, k].tolist()
    assert read.days[0] == LAST_DAY + timedelta(days=1)
    assert len(read.days) == HORIZON_DAYS


def test_the_city_alone_is_the_same_forecast_of_the_city() -> None:
    t = np.arange(HISTORY_DAYS)[:, None]
    counts = np.random.default_rng(11).poisson(4 * np.exp(0.05 * t) * [1, 3]).astype(float)
    people = np.array([900.0, np.nan])
    whole = expected_forecast(inputs(counts, people))
    city = expected_forecast(inputs(counts, people), per_district=False)
    assert city.districts == []
    assert city.city == whole.city
    assert city.city_susceptible == whole.city_susceptible
    assert city.days == whole.days


def test_the_quantiles_of_a_history_are_drawn_once_for_every_reader() -> None:
    t = np.arange(HISTORY_DAYS)[:, None]
    counts = np.random.default_rng(5).poisson(6 * np.exp(0.04 * t) * [1, 2]).astype(float)
    history = inputs(counts, np.array([5000.0, np.nan]))
    forget_quantiles()
    first = expected_quantiles(history)
    # The forecast page and the mutual-aid demand read the same array, which nobody may change.
    assert expected_quantiles(inputs(counts.copy(), np.array([5000.0, np.nan]))) is first
    assert not first.flags.writeable
    forget_quantiles()
    again = expected_quantiles(history)
    assert again is not first and np.array_equal(again, first)
    assert expected_quantiles(history, horizon_days=7) is not again  # another horizon, other draws
