"""Published daily case series shipped with the package for backtests: Shanghai's local cases of
March-June 2022, city-wide and by district (reference/shanghai-2022/PROVENANCE.md says where
every figure comes from and what it does not mean).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from importlib import resources

import numpy as np

from xietong.analytics.core.arrays import FloatArray

_FOLDER = ("reference", "shanghai-2022")


@dataclass(frozen=True)
class ReferenceSeries:
    """Daily counts of one or more units, oldest first, with no missing day.

    ``counts`` has shape (len(days), len(units)).
    """

    name: str
    days: tuple[date, ...]
    units: tuple[str, ...]
    counts: FloatArray

    def index_of(self, day: date) -> int:
        """Position of ``day`` in the series."""
        offset = (day - self.days[0]).days
        if not 0 <= offset < len(self.days):
            raise ValueError(
                f"day: {day} is outside {self.days[0]}..{self.days[-1]} of {self.name}"
            )
        return offset


def shanghai_2022_city() -> ReferenceSeries:
    """New local infections a day in Shanghai, 1 March - 30 June 2022.

    Confirmed plus asymptomatic less the confirmed who had been reported as asymptomatic before
    (``conversions``), so that each person is counted once, on the day first reported.
    """
    rows = _rows("shanghai_2022.csv")
    days = tuple(date.fromisoformat(row["date"]) for row in rows)
    counts = np.array(
        [
            [int(row["local_confirmed"]) + int(row["local_asymptomatic"]) - int(row["conversions"])]
            for row in rows
        ],
        dtype=np.float64,
    )
    return ReferenceSeries(name="shanghai-2022", days=days, units=("上海市",), counts=counts)


def shanghai_2022_districts(*, first_day: date = date(2022, 3, 19)) -> ReferenceSeries:
    """Local positives reported a day in each of Shanghai's 16 districts, from ``first_day``.

    Confirmed plus asymptomatic by district of residence. The district file gives no
    reclassifications, so a confirmed case once reported as asymptomatic counts on both days
    (4 April on: hundreds a day, 5,062 on 28 April). Before 19 March the districts do not add up
    to the city, so the series starts there by default.
    """
    rows = _rows("shanghai_2022_districts.csv")
    units = tuple(dict.fromkeys(row["district"] for row in rows))
    days = tuple(sorted({date.fromisoformat(row["date"]) for row in rows}))
    kept = tuple(day for day in days if day >= first_day)
    if not kept:
        raise ValueError(f"first_day: no district data on or after {first_day}")
    counts = np.zeros((len(kept), len(units)))
    column = {unit: u for u, unit in enumerate(units)}
    for row in rows:
        day = date.fromisoformat(row["date"])
        if day >= kept[0]:
            counts[(day - kept[0]).days, column[row["district"]]] = int(
                row["local_confirmed"]
            ) + int(row["local_asymptomatic"])
    return ReferenceSeries(name="shanghai-2022-districts", days=kept, units=units, counts=counts)


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("xietong.analytics").joinpath(*_FOLDER, name).read_text("utf-8")
    return list(csv.DictReader(io.StringIO(text)))
