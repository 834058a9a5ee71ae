"""The synthetic outbreak: who infects whom, when, and where (household, workplace, community).

The reference scenario counts infections *reported* per day: growth of 0.33 a day through 2,297
new infections on 13 November 2022 (so over 1,000 on 11 November and over 8,000 since
1 November, as reported), then slowing to a peak near 9,700 a day around 22 November and
declining. The shape after 13 November is an assumption fitted to DESIGN.md's reported range,
not a calibration. Infections precede their report: screening every other day, retests and
clinics find an infection about `REPORT_LAG_DAYS` after it happens (measured on the replay,
docs/twin.md), so the simulated infections of day d follow the reference curve of day
d + REPORT_LAG_DAYS, scaled to the simulated population (times `intensity`, which small test
cities use to have counts worth comparing). Each new infection is attached to an infectious
person through a household member, a colleague or a contact in a district they move to, so
chains, clusters and spillovers between districts arise from the city's structure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

REFERENCE_POPULATION = 32_054_159  # Chongqing, 2020 census
ANCHOR_DAY = date(2022, 11, 13)
ANCHOR_COUNT = 2297.0
EARLY_GROWTH = 0.33  # per day; gives 1,187 on 11 November and 8,170 over 1-13 November
PEAK_DAY = date(2022, 11, 22)
DECLINE = -0.07
SETTING_SHARES = {"household": 0.45, "workplace": 0.25, "community": 0.30}
SYMPTOMATIC_SHARE = 0.08  # most Omicron infections were reported as asymptomatic
INFECTIOUS_FROM_DAY = 2
INFECTIOUS_UNTIL_DAY = 7
REPORT_LAG_DAYS = 2  # infection to report, on average, in the replay
COMMUNITY_DRAWS = 4
# New infections brought in from outside the chains followed (travel, unknown sources), placed
# anywhere in the city: what carries the outbreak to districts far from the first clusters.
INTRODUCED_SHARE = 0.04


def reference_curve(days: list[date]) -> FloatArray:
    """New infections reported per day for the whole municipality (the reference scenario)."""
    out = np.empty(len(days))
    slowing = (PEAK_DAY - ANCHOR_DAY).days
    for i, day in enumerate(days):
        offset = (day - ANCHOR_DAY).days
        if offset <= 0:
            log_level = EARLY_GROWTH * offset
        elif offset <= slowing:
            # Growth falls linearly from 0.33 to 0 between the anchor and the peak.
            log_level = EARLY_GROWTH * (offset - offset**2 / (2 * slowing))
        else:
            log_level = EARLY_GROWTH * slowing / 2 + DECLINE * (offset - slowing)
        out[i] = ANCHOR_COUNT * np.exp(log_level)
    return out


def expected_infections(
    population: int,
    *,
    start: date,
    days: int,
    intensity: float = 1.0,
    lead_days: int = REPORT_LAG_DAYS,
) -> FloatArray:
    """New infections per day the simulation aims at, from `start` for `days` days."""
    scale = population / REFERENCE_POPULATION * intensity
    return reference_curve([start + timedelta(days=d + lead_days) for d in range(days)]) * scale


def expected_reports(population: int, *, days: list[date], intensity: float = 1.0) -> FloatArray:
    """New infections reported per day the replay aims at: the reference curve, scaled."""
    return reference_curve(days) * population / REFERENCE_POPULATION * intensity


@dataclass(frozen=True)
class Infections:
    """One row per infected person (indices into the city's person arrays)."""

    person: IntArray
    day: IntArray  # index of the day from the start
    infector: IntArray  # -1 for introductions
    setting: npt.NDArray[np.str_]
    symptomatic: npt.NDArray[np.bool_]


def _members(groups: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """For each person, where its group's members lie in `order` (start, end)."""
    valid = groups >= 0
    order = np.argsort(np.where(valid, groups, np.iinfo(np.int64).max), kind="stable")
    sorted_groups = groups[order]
    start = np.searchsorted(sorted_groups, groups, side="left")
    end = np.searchsorted(sorted_groups, groups, side="right")
    return order, start, end


def simulate_outbreak(
    *,
    rng: np.random.Generator,
    start: date,
    days: int,
    household: IntArray,
    workplace: IntArray,
    current_district: IntArray,
    seed_districts: IntArray,
    travel_share: FloatArray,
    intensity: float = 1.0,
    lead_days: int = REPORT_LAG_DAYS,
) -> Infections:
    """Simulate `days` days of transmission in a city of `household.size` persons.

    `current_district` holds district indices; `travel_share[i, j]` is the share of the contacts
    of people staying in district i that happen in district j (row-stochastic); introductions are
    placed in `seed_districts` (indices) on the first day, and anywhere afterwards (a share
    `INTRODUCED_SHARE` of each day's infections). The infections of day d follow the reference
    curve of day d + `lead_days`, scaled to the population and multiplied by `intensity`.
    """
    n = household.size
    expected = expected_infections(
        n, start=start, days=days, intensity=intensity, lead_days=lead_days
    )
    infected_on = np.full(n, -1, dtype=np.int64)
    infector_of = np.full(n, -1, dtype=np.int64)
    setting_of = np.full(n, "", dtype="<U12")
    h_order, h_start, h_end = _members(household)
    w_order, w_start, w_end = _members(workplace)
    by_district = [np.flatnonzero(current_district == d) for d in range(travel_share.shape[0])]
    seed_pool = np.flatnonzero(np.isin(current_district, seed_districts))
    settings = np.array(list(SETTING_SHARES))
    shares = np.array(list(SETTING_SHARES.values()))

    def susceptible_from(candidates: IntArray) -> int:
        free = candidates[infected_on[candidates] < 0]
        return int(free[rng.integers(0, free.size)]) if free.size else -1

    for day in range(days):
        wanted = int(rng.poisson(expected[day]))
        if day == 0:
            wanted = max(wanted, 3)
        infectious = np.flatnonzero(
            (infected_on >= 0)
            & (day - infected_on >= INFECTIOUS_FROM_DAY)
            & (day - infected_on <= INFECTIOUS_UNTIL_DAY)
        )
        introduced = rng.random(wanted) < INTRODUCED_SHARE
        for k in range(wanted):
            person, source, where = -1, -1, "community"
            if infectious.size and introduced[k]:
                person = int(rng.integers(0, n))
            elif infectious.size:
                source = int(infectious[rng.integers(0, infectious.size)])
                where = str(settings[rng.choice(settings.size, p=shares)])
                if where == "household":
                    person = susceptible_from(h_order[h_start[source] : h_end[source]])
                elif where == "workplace" and workplace[source] >= 0:
                    person = susceptible_from(w_order[w_start[source] : w_end[source]])
                if person < 0:
                    where = "community"
                    district = rng.choice(
                        travel_share.shape[1], p=travel_share[current_district[source]]
                    )
                    pool = by_district[district]
                    # A few draws: a passer-by already infected is no new infection.
                    for _ in range(COMMUNITY_DRAWS if pool.size else 0):
                        person = int(pool[rng.integers(0, pool.size)])
                        if infected_on[person] < 0:
                            break
            else:
                person = int(seed_pool[rng.integers(0, seed_pool.size)])
            if person < 0 or infected_on[person] >= 0:
                continue
            infected_on[person] = day
            infector_of[person] = source
            setting_of[person] = where if source >= 0 else "introduced"
    infected = np.flatnonzero(infected_on >= 0)
    infected = infected[np.argsort(infected_on[infected], kind="stable")]
    return Infections(
        person=infected,
        day=infected_on[infected],
        infector=infector_of[infected],
        setting=setting_of[infected],
        symptomatic=rng.random(infected.size) < SYMPTOMATIC_SHARE,
    )
