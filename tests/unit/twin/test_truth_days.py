"""The twin's truth for backtests is simulated for longer than the replay's November from the
same seed: its first days are the replay's infections exactly."""

from __future__ import annotations

from datetime import date

import numpy as np

from xietong.twin.outbreak import simulate_outbreak

START = date(2022, 11, 1)


def test_a_longer_outbreak_from_the_same_seed_begins_with_the_shorter_one() -> None:
    n = 20_000
    rng = np.random.default_rng(1)
    travel = np.full((5, 5), 0.15 / 4)
    np.fill_diagonal(travel, 0.85)
    city = {
        "household": np.arange(n) // 3,
        "workplace": np.where(rng.random(n) < 0.5, rng.integers(0, n // 50, n), -1),
        "current_district": rng.integers(0, 5, n),
        "seed_districts": np.array([1, 2]),
        "travel_share": travel,
        "intensity": 20.0,
    }
    short = simulate_outbreak(rng=np.random.default_rng([7, 3]), start=START, days=30, **city)
    long = simulate_outbreak(rng=np.random.default_rng([7, 3]), start=START, days=60, **city)

    first = long.day < 30
    assert short.person.size > 100 and long.person.size > short.person.size
    np.testing.assert_array_equal(long.person[first], short.person)
    np.testing.assert_array_equal(long.day[first], short.day)
    np.testing.assert_array_equal(long.infector[first], short.infector)
