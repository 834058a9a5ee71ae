"""What the replay knows of its city, read once per run as NumPy arrays indexed by person.

The persons, where they live and stay, their households, workplaces and ages, the buildings'
districts and streets, and the simulated infections. Persons do not move during a replay, so one
read serves every day; memory is a few arrays of the city's size, never a Python object per person.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import chain
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from xietong.areas import service as areas_service
from xietong.areas.models import Building, Community, Street
from xietong.people import service as people_service
from xietong.twin.models import TwinInfection, TwinPerson, TwinRun

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
AnySelect = Select[*tuple[Any, ...]]

_BLOCK = 100_000
SETTINGS = ("introduced", "household", "workplace", "community")


def int_rows(session: Session, query: AnySelect, width: int) -> IntArray:
    """The rows of `query` (integer columns, no nulls) as an (n, width) array.

    Read through the driver's cursor in blocks (server-side on PostgreSQL), a C-level loop per
    block: about three times faster than SQLAlchemy rows and never a Python object per row kept.
    """
    connection = session.connection()
    compiled = query.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
    raw = connection.connection.driver_connection
    assert raw is not None
    cursor = (
        raw.cursor(name="twin_rows") if connection.dialect.name == "postgresql" else raw.cursor()
    )
    parts: list[IntArray] = []
    try:
        cursor.execute(str(compiled))
        while block := cursor.fetchmany(_BLOCK):
            parts.append(np.fromiter(chain.from_iterable(block), dtype=np.int64))
    finally:
        cursor.close()
    flat = np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
    return flat.reshape(-1, width)


def _columns(session: Session, query: AnySelect, width: int) -> list[IntArray]:
    rows = int_rows(session, query, width)
    return [np.ascontiguousarray(rows[:, k]) for k in range(width)]


@dataclass(frozen=True, eq=False)
class City:
    """The persons of one twin run, index i ↔ person id `first_person_id + i`."""

    run_id: int
    seed: int
    first_person_id: int
    current_building: IntArray
    current_district: IntArray
    residence_building: IntArray
    residence_district: IntArray
    household: IntArray
    workplace: IntArray  # building id, -1 without a workplace
    age: IntArray
    # Buildings: id → district and street (sorted by id, looked up with searchsorted).
    building_ids: IntArray
    building_district: IntArray
    building_street: IntArray
    district_codes: dict[int, str]
    street_codes: dict[int, str]

    @property
    def size(self) -> int:
        return int(self.current_building.size)

    def index_of(self, person_ids: IntArray) -> IntArray:
        return np.asarray(person_ids, dtype=np.int64) - self.first_person_id

    def person_id(self, index: int) -> int:
        return self.first_person_id + int(index)

    def street_of(self, building_ids: IntArray) -> IntArray:
        at = np.searchsorted(self.building_ids, building_ids)
        return self.building_street[np.clip(at, 0, self.building_ids.size - 1)]


def load_city(session: Session, run: TwinRun) -> City:
    first, last = run.first_person_id, run.first_person_id + run.population
    keys = people_service.person_keys()
    persons = _columns(
        session,
        select(
            keys.c.id,
            func.coalesce(keys.c.current_building_id, -1),
            keys.c.current_district_id,
            func.coalesce(keys.c.residence_building_id, -1),
            keys.c.residence_district_id,
        )
        .where(keys.c.id >= first, keys.c.id < last)
        .order_by(keys.c.id),
        5,
    )
    twin = _columns(
        session,
        select(
            TwinPerson.person_id,
            TwinPerson.household,
            func.coalesce(TwinPerson.workplace_building_id, -1),
            TwinPerson.age,
        )
        .where(TwinPerson.person_id >= first, TwinPerson.person_id < last)
        .order_by(TwinPerson.person_id),
        4,
    )
    if persons[0].size != run.population or twin[0].size != run.population:
        raise RuntimeError(f"twin run {run.id}: its persons are incomplete; build it again")
    buildings = _columns(
        session,
        select(Building.id, Building.district_id, Community.street_id)
        .join(Community, Community.id == Building.community_id)
        .order_by(Building.id),
        3,
    )
    return City(
        run_id=run.id,
        seed=run.seed,
        first_person_id=first,
        current_building=persons[1],
        current_district=persons[2],
        residence_building=persons[3],
        residence_district=persons[4],
        household=twin[1],
        workplace=twin[2],
        age=twin[3],
        building_ids=buildings[0],
        building_district=buildings[1],
        building_street=buildings[2],
        district_codes=areas_service.district_code_by_id(session),
        street_codes=dict(
            session.execute(
                select(Street.id, Street.code).where(Street.code.like(f"T{run.seed}-%"))
            ).all()
        ),
    )


@dataclass(eq=False)
class Truth:
    """The simulated infections, per person: day infected (-1: never), infector, setting."""

    start: date
    infected_day: IntArray  # days since `start`
    infector: IntArray  # person index, -1 for an introduction or no infection
    setting: IntArray  # index into SETTINGS
    symptomatic: BoolArray
    _by_infector: tuple[IntArray, IntArray] | None = None

    def day_index(self, day: date) -> int:
        return (day - self.start).days

    def detectable(self, day: date, *, first: int, last: int) -> BoolArray:
        """Persons whose swab is positive on `day`: infected `first` to `last` days before."""
        since = self.day_index(day) - self.infected_day
        return (self.infected_day >= 0) & (since >= first) & (since <= last)

    def infected_on(self, day: date) -> IntArray:
        return np.flatnonzero(self.infected_day == self.day_index(day))

    def day_of(self, index: int) -> date:
        return self.start + timedelta(days=int(self.infected_day[index]))

    def infectees(self, index: int) -> IntArray:
        """The persons `index` infected (an index over infectors, built on first use)."""
        if self._by_infector is None:
            order = np.argsort(self.infector, kind="stable")
            self._by_infector = (order, self.infector[order])
        order, sorted_infector = self._by_infector
        low = np.searchsorted(sorted_infector, index, side="left")
        high = np.searchsorted(sorted_infector, index, side="right")
        return order[low:high]


def load_truth(session: Session, city: City, start: date) -> Truth:
    n = city.size
    infected_day = np.full(n, -1, dtype=np.int64)
    infector = np.full(n, -1, dtype=np.int64)
    setting = np.zeros(n, dtype=np.int64)
    symptomatic = np.zeros(n, dtype=np.bool_)
    codes = {name: k for k, name in enumerate(SETTINGS)}
    rows = session.execute(
        select(
            TwinInfection.person_id,
            TwinInfection.infected_on,
            TwinInfection.infector_id,
            TwinInfection.setting,
            TwinInfection.symptomatic,
        ).where(TwinInfection.run_id == city.run_id)
    )
    for person_id, on, source, where, symptoms in rows:
        i = person_id - city.first_person_id
        infected_day[i] = (on - start).days
        infector[i] = -1 if source is None else source - city.first_person_id
        setting[i] = codes[where]
        symptomatic[i] = symptoms
    return Truth(start, infected_day, infector, setting, symptomatic)


def groups(keys: IntArray) -> Iterator[tuple[int, IntArray]]:
    """(key, positions) for each distinct key, positions in their original order."""
    if keys.size == 0:
        return
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    cuts = np.flatnonzero(np.diff(sorted_keys)) + 1
    for part in np.split(order, cuts):
        yield int(keys[part[0]]), part
