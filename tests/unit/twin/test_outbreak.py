"""The simulated outbreak follows the reference curve, two days ahead of its reports."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from xietong.twin.outbreak import (
    REPORT_LAG_DAYS,
    expected_infections,
    expected_reports,
    reference_curve,
    simulate_outbreak,
)

START = date(2022, 11, 1)


def test_the_reference_curve_has_the_reported_figures() -> None:
    curve = reference_curve([date(2022, 11, 11), date(2022, 11, 13)])
    assert curve[0] > 1_000
    assert round(curve[1]) == 2_297
    november = reference_curve([START + timedelta(days=d) for d in range(13)])
    assert november.sum() > 8_000


def test_infections_lead_the_reports_they_are_calibrated_to() -> None:
    infections = expected_infections(32_054_159, start=START, days=30)
    reports = expected_reports(32_054_159, days=[START + timedelta(days=d) for d in range(30)])
    assert np.allclose(infections[:-REPORT_LAG_DAYS], reports[REPORT_LAG_DAYS:])


def test_daily_infections_in_a_city_of_a_million_stay_within_15_percent_of_the_curve() -> None:
    n = 1_000_000
    rng = np.random.default_rng(1)
    travel = np.full((41, 41), 0.15 / 40)
    np.fill_diagonal(travel, 0.85)
    infections = simulate_outbreak(
        rng=np.random.default_rng(2),
        start=START,
        days=30,
        household=np.arange(n) // 3,
        workplace=np.where(rng.random(n) < 0.5, rng.integers(0, n // 50, n), -1),
        current_district=rng.integers(0, 41, n),
        seed_districts=np.array([5, 6]),
        travel_share=travel,
    )
    got = np.bincount(infections.day, minlength=30).astype(float)
    want = expected_infections(n, start=START, days=30)

    def three_day(values: np.ndarray) -> np.ndarray:
        return np.convolve(values, np.ones(3), "valid")

    # From 9 November the counts are large enough (tens a day) for the curve to show.
    ratio = three_day(got)[8:] / three_day(want)[8:]
    assert np.all(np.abs(ratio - 1) < 0.15), ratio.round(2)
    # Every infection after the introductions has an infector infected earlier.
    later = infections.infector >= 0
    infected_day = dict(zip(infections.person.tolist(), infections.day.tolist(), strict=True))
    assert all(
        infected_day[s] < d
        for s, d in zip(
            infections.infector[later].tolist(), infections.day[later].tolist(), strict=True
        )
    )
