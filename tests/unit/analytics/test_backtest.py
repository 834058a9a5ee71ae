"""Backtests on Shanghai's 2022 series: every forecast sees only the days up to its date, the
baselines are scored in the same run, and the scores are those of the scoring module."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from xietong.analytics.core.backtest import METHODS, run_backtest
from xietong.analytics.reference_series import shanghai_2022_city, shanghai_2022_districts


def test_the_reference_series_are_shipped_whole() -> None:
    city = shanghai_2022_city()
    districts = shanghai_2022_districts()

    assert city.days[0] == date(2022, 3, 1) and city.days[-1] == date(2022, 6, 30)
    assert city.counts.shape == (122, 1)
    # 13 April: 2,573 confirmed + 25,146 asymptomatic - 114 reclassified
    assert city.counts[city.index_of(date(2022, 4, 13)), 0] == 27_605
    assert len(districts.units) == 16 and districts.days[0] == date(2022, 3, 19)
    assert np.all(districts.counts >= 0)


def test_a_forecast_does_not_change_when_the_days_after_its_date_do() -> None:
    series = shanghai_2022_city().counts[:60]
    origins = np.arange(30, 40)
    first = run_backtest(series, origins=origins, rng=np.random.default_rng(2), runs=100)
    changed = series.copy()
    changed[36:] *= 3.0  # days after the origin at index 35

    second = run_backtest(changed, origins=origins, rng=np.random.default_rng(2), runs=100)

    np.testing.assert_array_equal(second.quantiles[:, :6], first.quantiles[:, :6])
    assert not np.array_equal(second.quantiles[:, 6:], first.quantiles[:, 6:])


def test_the_backtest_scores_every_method_origin_horizon_and_district() -> None:
    series = shanghai_2022_districts(first_day=date(2022, 3, 11))
    origins = np.arange(series.index_of(date(2022, 3, 20)), series.index_of(date(2022, 3, 30)))

    backtest = run_backtest(series.counts, origins=origins, rng=np.random.default_rng(0), runs=100)

    for log in (False, True):
        scores = backtest.scores(log=log)
        for values in scores.values():
            assert values.shape == (len(METHODS), origins.size, 2, 16)
            assert np.all(np.isfinite(values)) and np.all(values >= 0)
    np.testing.assert_array_equal(backtest.observed[:, 0], series.counts[origins + 7])
    # Persistence scores its absolute error.
    natural = backtest.scores()
    np.testing.assert_allclose(natural["wis"][2], natural["absolute_error"][2])


def test_origins_without_history_or_targets_are_refused() -> None:
    series = shanghai_2022_city().counts
    with pytest.raises(ValueError, match="origins: each must have 7 days of history"):
        run_backtest(series, origins=[3], rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="origins:"):
        run_backtest(series, origins=[115], rng=np.random.default_rng(0))
