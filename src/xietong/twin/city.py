"""The synthetic city: persons in households in buildings, workplaces, and where people stay.

Deterministic from a seed: the same seed and size give the same persons, buildings, households and
commutes on any machine. Districts keep their census share of the population; two functional
zones without a census figure take an assumed share of their hosts (documented below).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.analytics.core.mobility import gravity_mobility
from xietong.areas import service as areas_service
from xietong.areas.models import Building, District
from xietong.core.principal import SYSTEM
from xietong.people import service as people_service
from xietong.people.protection import PersonalDataProtector
from xietong.people.synthetic import synthetic_national_id
from xietong.storage.bulk import bulk_insert
from xietong.twin.models import TwinPerson, TwinRun
from xietong.twin.names import synthetic_names

IntArray = npt.NDArray[np.int64]

# 两江新区 and 重庆高新区 have no census figure: the twin gives them these shares of their hosts'
# residents (an assumption for the demo, not a statistic).
FUNCTIONAL_ZONE_SHARES: dict[str, dict[str, float]] = {
    "CQ-LJ": {"500112": 0.15, "500105": 0.10, "500109": 0.05},
    "CQ-GX": {"500106": 0.15, "500107": 0.10},
}
PERSONS_PER_RESIDENTIAL_BUILDING = 80
WORKPLACE_SHARE_OF_BUILDINGS = 0.12
STAYING_ELSEWHERE_SHARE = 0.03  # residents staying in a district other than their residence
EMPLOYED_SHARE_OF_ADULTS = 0.7
COMMUTE_OUT_SHARE = 0.25  # workers whose workplace is in another district
# Household sizes 1..5 (2020 census: average 2.62 persons per family household).
HOUSEHOLD_SIZES = np.array([1, 2, 3, 4, 5])
HOUSEHOLD_SIZE_SHARES = np.array([0.25, 0.30, 0.23, 0.13, 0.09])
# Age bands (2020 census: 0-14 18 %, 15-59 63 %, 60+ 19 %).
AGE_BANDS = ((0, 15, 0.18), (15, 60, 0.63), (60, 90, 0.19))
REFERENCE_DAY = date(2022, 11, 1)
_CHUNK = 50_000


@dataclass(frozen=True)
class CityShape:
    """How many simulated residents each district has."""

    district_ids: tuple[int, ...]
    district_codes: tuple[str, ...]
    residents: IntArray


def city_shape(session: Session, *, population: int) -> CityShape:
    """Share `population` over the districts by census population (functional zones carved)."""
    districts = areas_service.list_districts(session)
    census = {d.code: float(d.population or 0) for d in districts}
    for zone, hosts in FUNCTIONAL_ZONE_SHARES.items():
        if zone in census and census[zone] == 0:
            for host, share in hosts.items():
                moved = census[host] * share
                census[host] -= moved
                census[zone] += moved
    codes = tuple(d.code for d in districts)
    weights = np.array([census[c] for c in codes])
    raw = weights / weights.sum() * population
    residents = np.floor(raw).astype(np.int64)
    # Largest remainders: the shares add up to exactly `population`.
    residents[np.argsort(raw - residents)[::-1][: population - int(residents.sum())]] += 1
    return CityShape(tuple(d.id for d in districts), codes, residents)


@dataclass(frozen=True)
class CityPeople:
    """Per person (index i ↔ person id first_person_id + i)."""

    residence_building: IntArray
    current_building: IntArray
    workplace_building: IntArray  # -1: no workplace
    household: IntArray
    age: IntArray
    residence_district: IntArray  # district ids
    current_district: IntArray


def plan_people(
    *,
    rng: np.random.Generator,
    shape: CityShape,
    buildings: IntArray,
    building_district: IntArray,
    building_is_workplace: npt.NDArray[np.bool_],
    distance_km: npt.NDArray[np.float64],
) -> CityPeople:
    """Place the residents in buildings and households, give workers a workplace, and let a
    share of residents stay in another district (more often a near, populous one)."""
    n_districts = len(shape.district_ids)
    district_index = {d: i for i, d in enumerate(shape.district_ids)}
    b_district = np.array([district_index[int(d)] for d in building_district], dtype=np.int64)
    residential = [
        np.flatnonzero((b_district == i) & ~building_is_workplace) for i in range(n_districts)
    ]
    workplaces = [
        np.flatnonzero((b_district == i) & building_is_workplace) for i in range(n_districts)
    ]
    home_district = np.repeat(np.arange(n_districts), shape.residents)
    n = home_district.size
    residence = np.empty(n, dtype=np.int64)
    for i in range(n_districts):  # 41 districts: the per-person work stays vectorised
        members = np.flatnonzero(home_district == i)
        residence[members] = residential[i][rng.integers(0, residential[i].size, members.size)]
    order = np.argsort(residence, kind="stable")
    residence = residence[order]
    home_district = home_district[order]
    # Households: consecutive residents of a building, sizes drawn from the census shares.
    sizes = rng.choice(HOUSEHOLD_SIZES, size=n, p=HOUSEHOLD_SIZE_SHARES)
    household_of = np.searchsorted(np.cumsum(sizes), np.arange(n), side="right")
    _, household = np.unique(residence * (n + 1) + household_of, return_inverse=True)
    bands = rng.choice(len(AGE_BANDS), size=n, p=[b[2] for b in AGE_BANDS])
    low = np.array([b[0] for b in AGE_BANDS])[bands]
    high = np.array([b[1] for b in AGE_BANDS])[bands]
    age = rng.integers(low, high)
    population = np.maximum(shape.residents.astype(np.float64), 1.0)
    mobility = gravity_mobility(population=population, distance_km=distance_km, stay_share=0.0)
    destination_share = mobility.contact_share  # rows: where a district's travellers go

    def elsewhere(origins: IntArray) -> IntArray:
        cumulative = np.cumsum(destination_share[origins], axis=1)
        draws = rng.random(origins.size)[:, None]
        chosen: IntArray = (draws > cumulative).sum(axis=1).clip(0, n_districts - 1)
        return chosen

    workplace = np.full(n, -1, dtype=np.int64)
    workers = np.flatnonzero((age >= 20) & (age < 60) & (rng.random(n) < EMPLOYED_SHARE_OF_ADULTS))
    work_district = home_district[workers].copy()
    commuters = rng.random(workers.size) < COMMUTE_OUT_SHARE
    work_district[commuters] = elsewhere(work_district[commuters])
    for i in range(n_districts):
        chosen = workers[work_district == i]
        pool = workplaces[i] if workplaces[i].size else residential[i]
        workplace[chosen] = pool[rng.integers(0, pool.size, chosen.size)]
    current = residence.copy()
    away = np.flatnonzero(rng.random(n) < STAYING_ELSEWHERE_SHARE)
    away_district = elsewhere(home_district[away])
    for i in range(n_districts):
        chosen = away[away_district == i]
        current[chosen] = residential[i][rng.integers(0, residential[i].size, chosen.size)]
    ids = np.array(shape.district_ids, dtype=np.int64)
    return CityPeople(
        residence_building=buildings[residence],
        current_building=buildings[current],
        workplace_building=np.where(workplace >= 0, buildings[np.maximum(workplace, 0)], -1),
        household=household.astype(np.int64),
        age=age.astype(np.int64),
        residence_district=ids[home_district],
        current_district=ids[b_district[current]],
    )


def birth_serials(rng: np.random.Generator, age: IntArray) -> tuple[IntArray, IntArray]:
    """Birth dates (days since 1970) fitting the ages, and a serial unique per birth date.

    A number has three digits of serial per birth date: when more than 1,000 persons share a
    date, the extra ones are born a day earlier (and so on), latest dates first, in one pass
    over the distinct dates.
    """
    days_old = age * 365 + rng.integers(0, 365, age.size)
    wanted = (np.datetime64(REFERENCE_DAY) - days_old.astype("timedelta64[D]")).astype(np.int64)
    order = np.argsort(-wanted, kind="stable")  # latest first, persons in index order
    dates, starts, counts = np.unique(-wanted[order], return_index=True, return_counts=True)
    birth = np.empty(age.size, dtype=np.int64)
    serial = np.empty(age.size, dtype=np.int64)
    current, used = None, 0  # the day being filled and the serials taken on it
    for negative, start, count in zip(
        dates.tolist(), starts.tolist(), counts.tolist(), strict=True
    ):
        day = -negative
        if current is None or day < current:
            current, used = day, 0
        slots = used + np.arange(count)
        people = order[start : start + count]
        birth[people] = current - slots // 1000
        serial[people] = slots % 1000
        current, used = current - (used + count) // 1000, (used + count) % 1000
    return birth, serial


_EPOCH = date(1970, 1, 1)


def national_id_at(birth: IntArray, serial: IntArray, i: int) -> str:
    """The synthetic number of person `i` from `birth_serials`."""
    return synthetic_national_id(
        serial=int(serial[i]), birth=_EPOCH + timedelta(days=int(birth[i]))
    )


def national_ids(rng: np.random.Generator, age: IntArray) -> list[str]:
    """Unique synthetic numbers whose birth dates fit the ages (serial unique per birth date)."""
    birth, serial = birth_serials(rng, age)
    return [
        synthetic_national_id(serial=s, birth=_EPOCH + timedelta(days=b))
        for s, b in zip(serial.tolist(), birth.tolist(), strict=True)
    ]


def city_streams(seed: int) -> tuple[np.random.Generator, np.random.Generator, np.random.Generator]:
    """Separate random streams for the people, their ID numbers and their names, so that the
    replay can regenerate a person's number from the seed and the ages alone."""
    return (
        np.random.default_rng([seed, 0]),
        np.random.default_rng([seed, 1]),
        np.random.default_rng([seed, 2]),
    )


@dataclass(frozen=True)
class CityBuild:
    run_id: int
    persons: int
    buildings: int
    created: bool


def build_city(
    session: Session,
    *,
    protector: PersonalDataProtector,
    population: int,
    seed: int,
    progress: Callable[[str, float], None] | None = None,
) -> CityBuild:
    """Build the city once per (seed, population); a second call finds it and adds nothing."""
    existing = session.scalar(
        select(TwinRun).where(TwinRun.seed == seed, TwinRun.population == population)
    )
    if existing is not None:
        return CityBuild(existing.id, existing.population, existing.buildings, created=False)
    people_rng, ids_rng, names_rng = city_streams(seed)
    shape = city_shape(session, population=population)
    residential = np.ceil(shape.residents / PERSONS_PER_RESIDENTIAL_BUILDING).astype(np.int64) + 1
    total = np.ceil(residential / (1 - WORKPLACE_SHARE_OF_BUILDINGS)).astype(np.int64)
    prefix = f"T{seed}"
    if progress:
        progress("buildings", 0.0)
    areas_service.generate_synthetic_areas(
        session,
        buildings_per_district=dict(zip(shape.district_codes, total.tolist(), strict=True)),
        seed=seed,
        workplace_share=WORKPLACE_SHARE_OF_BUILDINGS,
        code_prefix=prefix,
    )
    rows = session.execute(
        select(Building.id, Building.district_id, Building.kind)
        .where(Building.code.like(f"{prefix}-%"))
        .order_by(Building.id)
    ).all()
    buildings = np.array([r[0] for r in rows], dtype=np.int64)
    building_district = np.array([r[1] for r in rows], dtype=np.int64)
    is_workplace = np.array([r[2] == "workplace" for r in rows])
    matrix = areas_service.distance_matrix(session)
    codes = {d.id: d.code for d in session.scalars(select(District))}
    index = {c: i for i, c in enumerate(matrix.codes)}
    order = [index[codes[d]] for d in shape.district_ids]
    distance = np.array(matrix.km)[np.ix_(order, order)]
    if progress:
        progress("households", 0.2)
    people = plan_people(
        rng=people_rng,
        shape=shape,
        buildings=buildings,
        building_district=building_district,
        building_is_workplace=is_workplace,
        distance_km=distance,
    )
    birth, serial = birth_serials(ids_rng, people.age)
    first_id = people_service.next_person_id(session)
    if progress:
        progress("persons", 0.3)

    def persons() -> Iterator[people_service.NewPerson]:
        # Names, phones and numbers are made a chunk at a time: memory stays flat at any size.
        for start in range(0, population, _CHUNK):
            count = min(_CHUNK, population - start)
            if progress:
                progress("persons", 0.3 + 0.6 * start / population)
            names = synthetic_names(names_rng, count)
            phones = (13_000_000_000 + names_rng.integers(0, 999_999_999, count)).tolist()
            serials = serial[start : start + count].tolist()
            births = birth[start : start + count].tolist()
            for k in range(count):
                i = start + k
                yield people_service.NewPerson(
                    national_id=synthetic_national_id(
                        serial=serials[k], birth=_EPOCH + timedelta(days=births[k])
                    ),
                    name=names[k],
                    phone=str(phones[k]),
                    residence_building_id=int(people.residence_building[i]),
                    residence_district_id=int(people.residence_district[i]),
                    current_building_id=int(people.current_building[i]),
                    current_district_id=int(people.current_district[i]),
                )

    people_service.register_many(
        session,
        principal=SYSTEM,
        protector=protector,
        persons=persons(),
        source_name=f"twin seed {seed}",
        first_id=first_id,
    )
    bulk_insert(
        session,
        TwinPerson.__table__,  # type: ignore[arg-type]
        ["person_id", "household", "workplace_building_id", "age"],
        (
            (
                first_id + i,
                int(people.household[i]),
                int(people.workplace_building[i]) if people.workplace_building[i] >= 0 else None,
                int(people.age[i]),
            )
            for i in range(population)
        ),
    )
    run = TwinRun(
        seed=seed,
        population=population,
        first_person_id=first_id,
        buildings=int(buildings.size),
        days_replayed=0,
    )
    session.add(run)
    session.flush()
    if progress:
        progress("persons", 1.0)
    return CityBuild(run.id, population, int(buildings.size), created=True)
