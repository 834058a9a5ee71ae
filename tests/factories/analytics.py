"""Official counts of the reference scenario, and a metrics domain held in memory for the refresh.

Reference figures: DESIGN.md "Reference scenario" (from the Chongqing press conference of
14 November 2022 and the source article of 15 November 2022).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from xietong.analytics import official
from xietong.analytics.schemas import OfficialImportReport
from xietong.analytics.service import MetricsProvider
from xietong.core.principal import SYSTEM

# 14 November 2022 0–18h: new local confirmed cases per reporting unit (code, count).
REFERENCE_14_NOV_0_18H: tuple[tuple[str, int], ...] = (
    ("500106", 27),  # 沙坪坝区
    ("500231", 18),  # 垫江县
    ("500113", 9),  # 巴南区
    ("500104", 7),  # 大渡口区
    ("500107", 6),  # 九龙坡区
    ("500241", 4),  # 秀山县
    ("500118", 4),  # 永川区
    ("500154", 3),  # 开州区
    ("500102", 2),  # 涪陵区
    ("500105", 2),  # 江北区
    ("500116", 2),  # 江津区
    ("500101", 2),  # 万州区
    ("500109", 1),  # 北碚区
    ("500155", 1),  # 梁平区
    ("500108", 1),  # 南岸区
    ("500114", 1),  # 黔江区
    ("500153", 1),  # 荣昌区
    ("500151", 1),  # 铜梁区
    ("500152", 1),  # 潼南区
    ("CQ-WS", 1),  # 万盛经开区
    ("500103", 1),  # 渝中区
    ("500115", 1),  # 长寿区
    ("500242", 1),  # 酉阳县
)
REFERENCE_TOTAL = 97

# The municipality, 1–13 November 2022: over 8,000 infections, "over 1,000 a day" on 11 November,
# 2,297 on 13 November. A smooth exponential of 0.33 a day through 2,297 on 13 November gives
# 1,187 on 11 November and 8,061 over the 13 days (docs/analytics-phases.md).
GROWTH_PER_DAY = 0.33
LAST_REFERENCE_DAY = date(2022, 11, 13)


def municipal_series() -> list[tuple[date, int]]:
    return [
        (day, round(2297 * math.exp(GROWTH_PER_DAY * (day - LAST_REFERENCE_DAY).days)))
        for day in (date(2022, 11, 1) + timedelta(days=k) for k in range(13))
    ]


def split_by_reference_shares(total: int) -> dict[str, int]:
    """Share a city total among the reference districts as on 14 November (largest remainder)."""
    exact = {code: total * count / REFERENCE_TOTAL for code, count in REFERENCE_14_NOV_0_18H}
    shares = {code: math.floor(value) for code, value in exact.items()}
    left = total - sum(shares.values())
    for code in sorted(exact, key=lambda c: shares[c] - exact[c])[:left]:
        shares[code] += 1
    return shares


def official_csv(rows: Iterable[dict[str, object]]) -> str:
    columns = [
        "district",
        "day",
        "until",
        "new_confirmed",
        "new_asymptomatic",
        "conversions",
        "found_under_control",
        "found_on_surface",
    ]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({name: row.get(name, "") for name in columns})
    return out.getvalue()


def reference_14_nov_rows() -> list[dict[str, object]]:
    return [
        {"district": code, "day": "2022-11-14", "until": "18:00", "new_confirmed": count}
        | {"new_asymptomatic": 0}
        for code, count in REFERENCE_14_NOV_0_18H
    ]


def municipal_series_rows() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for day, total in municipal_series():
        for code, count in split_by_reference_shares(total).items():
            # Published split of the day's infections: a third confirmed, the rest asymptomatic;
            # a tenth found on the surface.
            confirmed = count // 3
            surface = count // 10
            rows.append(
                {
                    "district": code,
                    "day": day.isoformat(),
                    "new_confirmed": confirmed,
                    "new_asymptomatic": count - confirmed,
                    "found_under_control": count - surface,
                    "found_on_surface": surface,
                }
            )
    return rows


def import_official(
    session: Session, rows: Iterable[dict[str, object]], *, name: str = "official.csv"
) -> OfficialImportReport:
    return official.import_official_counts(
        session,
        principal=SYSTEM,
        stream=io.StringIO(official_csv(rows)),
        source_name=name,
        now=datetime(2022, 11, 14, 11, tzinfo=UTC),
    )


# -- a domain's metrics module, held in memory ----------------------------------------------


@dataclass(frozen=True)
class Fact:
    """One raw row of a domain: it adds `count` to `metric` of a cell; `key` makes it unique."""

    key: str
    district_id: int
    day: date
    metric: str
    count: int
    created_at: datetime


@dataclass
class MemoryDomain:
    """Raw rows and the two contract functions over them; ingesting a key twice keeps one row.

    `state` holds state metrics (a value per cell with no row of its own, like occupancy);
    `state_changed_at` is what `changed_cells` can see of them (nothing, by default).
    """

    domain: str
    facts: dict[str, Fact] = field(default_factory=dict)
    state: dict[tuple[int, date], dict[str, int]] = field(default_factory=dict)
    calls: list[set[tuple[int, date]]] = field(default_factory=list)

    def ingest(self, fact: Fact) -> bool:
        if fact.key in self.facts:
            return False
        self.facts[fact.key] = fact
        return True

    def changed_cells(self, session: Session, *, since: datetime) -> set[tuple[int, date]]:
        del session
        return {(f.district_id, f.day) for f in self.facts.values() if f.created_at >= since}

    def daily_metrics(
        self, session: Session, *, cells: Collection[tuple[int, date]], tz: str
    ) -> dict[tuple[int, date], dict[str, int]]:
        del session, tz
        wanted = set(cells)
        self.calls.append(wanted)
        result: dict[tuple[int, date], dict[str, int]] = {}
        for fact in self.facts.values():
            cell = (fact.district_id, fact.day)
            if cell in wanted:
                figures = result.setdefault(cell, {})
                figures[fact.metric] = figures.get(fact.metric, 0) + fact.count
        for cell, figures in self.state.items():
            if cell in wanted:
                result.setdefault(cell, {}).update(figures)
        return result

    def provider(self) -> MetricsProvider:
        return MetricsProvider(
            domain=self.domain,
            changed_cells=self.changed_cells,
            daily_metrics=self.daily_metrics,
        )
