"""The twin's outbreak simulated on its city, and its truth as a daily series for backtests: the
new infections of every district (where the infected person stays) on every day.

The replay stores the outbreak of November (`replay.HORIZON_DAYS`); a backtest needs the weeks
after as well, so the truth is simulated again for longer from the same seed: the draws of each
day follow those of the days before, so its first days are the replay's infections exactly.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from sqlalchemy.orm import Session

from xietong.analytics.core.mobility import gravity_mobility
from xietong.analytics.reference_series import ReferenceSeries
from xietong.areas import service as areas_service
from xietong.twin.models import TwinRun
from xietong.twin.outbreak import Infections, simulate_outbreak
from xietong.twin.world import City, load_city

# Where the outbreak starts: the districts of the first clusters of November 2022.
SEED_DISTRICTS = ("500106", "500107", "500113", "500104")  # 沙坪坝 九龙坡 巴南 大渡口
TRAVEL_STAY_SHARE = 0.85  # share of a district's community contacts made at home


def simulate_city_outbreak(
    session: Session, city: City, *, seed: int, start: date, days: int, intensity: float
) -> Infections:
    """Simulate who infects whom in the twin's city for `days` days from `start`."""
    district_ids = sorted(city.district_codes)
    column = {d: k for k, d in enumerate(district_ids)}
    current = np.array([column[int(d)] for d in city.current_district], dtype=np.int64)
    residents = np.bincount(current, minlength=len(district_ids)).astype(np.float64)
    matrix = areas_service.distance_matrix(session)
    at = {c: k for k, c in enumerate(matrix.codes)}
    order = [at[city.district_codes[d]] for d in district_ids]
    distance = np.array(matrix.km)[np.ix_(order, order)]
    travel = gravity_mobility(
        population=np.maximum(residents, 1.0),
        distance_km=distance,
        stay_share=TRAVEL_STAY_SHARE,
    ).contact_share
    seeds = np.array(
        [column[d] for d in district_ids if city.district_codes[d] in SEED_DISTRICTS],
        dtype=np.int64,
    )
    return simulate_outbreak(
        rng=np.random.default_rng([seed, 3]),
        start=start,
        days=days,
        household=city.household,
        workplace=city.workplace,
        current_district=current,
        seed_districts=seeds,
        travel_share=travel,
        intensity=intensity,
    )


def true_infections(
    session: Session, *, run_id: int, start: date, days: int, intensity: float = 1.0
) -> ReferenceSeries:
    """The twin's new infections per district (by code) and day, `days` days from `start`."""
    run = session.get(TwinRun, run_id)
    if run is None:
        raise ValueError(f"run_id: no twin run {run_id}")
    city = load_city(session, run)
    infections = simulate_city_outbreak(
        session, city, seed=run.seed, start=start, days=days, intensity=intensity
    )
    district_ids = sorted(city.district_codes, key=lambda d: city.district_codes[d])
    column = {d: k for k, d in enumerate(district_ids)}
    where = np.array([column[int(d)] for d in city.current_district[infections.person]])
    counts = np.zeros((days, len(district_ids)))
    np.add.at(counts, (infections.day, where), 1.0)
    return ReferenceSeries(
        name=f"twin (seed {run.seed}, {run.population:,} persons): true new infections",
        days=tuple(start + timedelta(days=k) for k in range(days)),
        units=tuple(city.district_codes[d] for d in district_ids),
        counts=counts,
    )
