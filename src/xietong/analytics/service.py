"""The daily aggregates: kept current by an incremental refresh over every domain's metrics, read
as (districts × days) arrays, and the import of official counts for cities that have only those.

The refresh never reads another domain's tables: each domain's `metrics` module says which
(district, local day) cells changed since a moment and recounts cells from its raw rows, so
that an aggregate always equals a recount (docs/analytics.md explains the watermark).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from xietong.analytics.catalogue import METRICS, METRICS_BY_DOMAIN, OFFICIAL_METRICS, Source
from xietong.analytics.daily_rows import DistrictDays, list_rows
from xietong.analytics.models import (
    DailyAggregate,
    OfficialCityCount,
    OfficialCount,
    RefreshWatermark,
)
from xietong.analytics.official import WHOLE_DAY_MINUTES
from xietong.analytics.schemas import RefreshReport
from xietong.areas import service as areas_service
from xietong.core.clock import DEFAULT_TZ, local_day
from xietong.core.errors import NotFound, RowError, ValidationFailed
from xietong.outbox import service as outbox

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
Cell = tuple[int, date]

WATERMARK_NAME: Final = "daily_aggregates"
# The stream topic of a refresh that changed the aggregates (dashboards fetch their figures).
AGGREGATES_REFRESHED: Final = "analytics.aggregates_refreshed"
# A fact is stamped `created_at` when its transaction writes it but seen only once that
# transaction commits; re-reading this far before the watermark catches transactions that
# were still open when the previous refresh read (longer ones: the nightly full recount).
SAFETY_MARGIN: Final = timedelta(minutes=15)
# State metrics (quarantine occupancy, active high-risk areas) change without a new row; these
# days are recounted for every district at each refresh.
RECENT_DAYS: Final = 2
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_UPSERT_BATCH: Final = 500


# ---------------------------------------------------------------------------------------------
# Metrics providers


@dataclass(frozen=True)
class MetricsProvider:
    """A domain's metrics module, as the refresh calls it (docs/domain-contracts.md)."""

    domain: str
    changed_cells: Callable[..., Collection[Cell]]
    daily_metrics: Callable[..., dict[Cell, dict[str, int]]]
    # Optional extension: counts by district over [start, end), for partial-day bulletins.
    period_metrics: Callable[..., dict[int, dict[str, int]]] | None = None

    @property
    def metrics(self) -> tuple[str, ...]:
        return METRICS_BY_DOMAIN[self.domain]


def metrics_providers() -> list[MetricsProvider]:
    """Every domain's `metrics` module that exists and computes metrics of the catalogue."""
    providers = []
    from xietong.cases import metrics as cases_metrics
    from xietong.referrals import metrics as referrals_metrics
    from xietong.screening import metrics as screening_metrics
    from xietong.zones import metrics as zones_metrics

    for module in (zones_metrics, screening_metrics, cases_metrics, referrals_metrics):
        domain = module.__name__.split(".")[1]
        if domain not in METRICS_BY_DOMAIN:
            continue
        providers.append(
            MetricsProvider(
                domain=domain,
                changed_cells=module.changed_cells,
                daily_metrics=module.daily_metrics,
                period_metrics=getattr(module, "period_metrics", None),
            )
        )
    return providers


# ---------------------------------------------------------------------------------------------
# Refresh


def refresh_aggregates(
    session: Session,
    *,
    now: datetime,
    tz: str = DEFAULT_TZ,
    full: bool = False,
    providers: Sequence[MetricsProvider] | None = None,
    safety_margin: timedelta = SAFETY_MARGIN,
) -> RefreshReport:
    """Recount the (district, day) cells whose facts changed since the last refresh.

    A cell is recounted for a domain when that domain reports a change in it since the last
    watermark minus `safety_margin`, when it is new to the table (then for every domain), or
    when it falls on one of the last `RECENT_DAYS` local days (state metrics). With `full`,
    every cell ever counted is recounted. The watermark moves to `now`.
    """
    if now.tzinfo is None:
        raise ValueError("now: must be timezone-aware")
    providers = metrics_providers() if providers is None else list(providers)
    mark = session.scalar(
        select(RefreshWatermark).where(RefreshWatermark.name == WATERMARK_NAME).with_for_update()
    )
    since = None if full or mark is None else mark.watermark - safety_margin
    district_ids = set(areas_service.district_code_by_id(session))
    today = local_day(now, tz)
    recent = {
        (district_id, today - timedelta(days=back))
        for district_id in district_ids
        for back in range(RECENT_DAYS)
    }
    changed = {
        provider.domain: {
            (int(district_id), day)
            for district_id, day in provider.changed_cells(session, since=since or _EPOCH)
            if district_id in district_ids
        }
        for provider in providers
    }
    candidates = set(recent).union(*changed.values())
    if full:
        candidates |= _all_cells(session)
    existing = _existing_cells(session, candidates)
    added = candidates - existing

    updates: dict[Cell, dict[str, int]] = {cell: {} for cell in candidates}
    unknown: set[str] = set()
    for provider in providers:
        cells = candidates if full else changed[provider.domain] | recent | added
        values = provider.daily_metrics(session, cells=sorted(cells), tz=tz)
        for cell in cells:
            counted = values.get(cell, {})
            unknown.update(name for name in counted if name not in provider.metrics)
            row = updates[cell]
            for name in provider.metrics:
                row[name] = _whole_count(counted.get(name, 0), provider.domain, name, cell)
    _upsert_cells(session, updates, now=now)

    if mark is None:
        mark = RefreshWatermark(name=WATERMARK_NAME)
        session.add(mark)
    mark.watermark = now
    mark.cells_last_run = len(candidates)
    mark.updated_at = now
    session.flush()
    if full or added or any(changed.values()):
        # Every dashboard reads the aggregates: each district's and the command centre's hear
        # that they changed (a run that found nothing new stays silent).
        outbox.enqueue(
            session,
            topic=AGGREGATES_REFRESHED,
            payload={"watermark": now, "cells_refreshed": len(candidates), "full": full},
            audience_district_ids=[*sorted(district_ids), None],
            idempotency_key=f"analytics:aggregates_refreshed:{now.isoformat()}",
            now=now,
        )
    return RefreshReport(
        full=full,
        since=since,
        watermark=now,
        cells_refreshed=len(candidates),
        cells_added=len(added),
        domains=[provider.domain for provider in providers],
        unknown_metrics=sorted(unknown),
    )


def recount_cells(
    session: Session,
    *,
    cells: Collection[Cell],
    tz: str = DEFAULT_TZ,
    providers: Sequence[MetricsProvider] | None = None,
) -> dict[Cell, dict[str, int]]:
    """Count `cells` afresh from every domain's raw rows (what the aggregates must equal)."""
    providers = metrics_providers() if providers is None else list(providers)
    result: dict[Cell, dict[str, int]] = {cell: {} for cell in cells}
    for provider in providers:
        values = provider.daily_metrics(session, cells=sorted(cells), tz=tz)
        for cell in cells:
            counted = values.get(cell, {})
            for name in provider.metrics:
                result[cell][name] = _whole_count(counted.get(name, 0), provider.domain, name, cell)
    return result


def last_watermark(session: Session) -> datetime | None:
    """The `now` of the last refresh, or None before the first."""
    return session.scalar(
        select(RefreshWatermark.watermark).where(RefreshWatermark.name == WATERMARK_NAME)
    )


def _whole_count(value: object, domain: str, name: str, cell: Cell) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ValueError(
            f"{domain}.metrics returned {name}={value!r} for district {cell[0]} on {cell[1]}: "
            "a metric is a whole number >= 0"
        )
    return int(value)


def _all_cells(session: Session) -> set[Cell]:
    return {
        (district_id, day)
        for district_id, day in session.execute(
            select(DailyAggregate.district_id, DailyAggregate.day)
        )
    }


def _existing_cells(session: Session, cells: Iterable[Cell]) -> set[Cell]:
    wanted = set(cells)
    days = sorted({day for _, day in wanted})
    found: set[Cell] = set()
    for first in range(0, len(days), _UPSERT_BATCH):
        rows = session.execute(
            select(DailyAggregate.district_id, DailyAggregate.day).where(
                DailyAggregate.day.in_(days[first : first + _UPSERT_BATCH])
            )
        )
        found.update((district_id, day) for district_id, day in rows)
    return found & wanted


def _upsert_cells(session: Session, updates: dict[Cell, dict[str, int]], *, now: datetime) -> None:
    """Insert new cells and overwrite the recounted columns of existing ones, in batches."""
    table: Table = DailyAggregate.__table__  # type: ignore[assignment]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # One statement per set of recounted columns: the other columns of a cell keep their value.
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for (district_id, day), values in sorted(updates.items()):
        by_columns.setdefault(tuple(sorted(values)), []).append(
            {"district_id": district_id, "day": day, "refreshed_at": now, **values}
        )
    for columns, rows in by_columns.items():
        statement = insert(table)
        statement = statement.on_conflict_do_update(
            index_elements=["district_id", "day"],
            set_={name: statement.excluded[name] for name in (*columns, "refreshed_at")},
        )
        for first in range(0, len(rows), _UPSERT_BATCH):
            session.execute(statement, rows[first : first + _UPSERT_BATCH])
    # The statements bypass the ORM: rows it loaded earlier in this session are now stale.
    for loaded in list(session.identity_map.values()):
        if isinstance(loaded, DailyAggregate):
            session.expire(loaded)


# ---------------------------------------------------------------------------------------------
# Reading the aggregates


def list_aggregates(
    session: Session, *, wanted: DistrictDays, limit: int = 50, offset: int = 0
) -> tuple[list[DailyAggregate], int]:
    """Aggregate rows, newest day first, optionally of one district and a range of days."""
    return list_rows(
        session,
        DailyAggregate,
        wanted=wanted,
        order_by=[DailyAggregate.day.desc(), DailyAggregate.district_id],
        limit=limit,
        offset=offset,
    )


def official_counts_of_day(session: Session, *, day: date) -> dict[int, dict[str, int | None]]:
    """The aggregated official figures of `day` per district (None where a metric is not counted);
    empty when no aggregate of that day exists."""
    rows = session.execute(
        select(
            DailyAggregate.district_id, *(getattr(DailyAggregate, n) for n in OFFICIAL_METRICS)
        ).where(DailyAggregate.day == day)
    ).all()
    return {row[0]: dict(zip(OFFICIAL_METRICS, row[1:], strict=True)) for row in rows}


@dataclass(frozen=True, eq=False)
class DailySeries:
    """Daily metrics of every district as (districts × days) arrays, districts by code.

    A cell with no row counts 0 (no fact that day). `missing` marks cells whose store had no
    figure at all (a metric no domain counts, an official count without the split by where
    cases were found) and, in official counts, every cell of a day not reported: a bulletin
    lists only the districts with cases, so on a published day a district without a row had
    none, but a day with no published row at all is unknown, never zero.
    """

    source: str
    districts: tuple[areas_service.District, ...]
    days: tuple[date, ...]
    values: dict[str, IntArray]
    missing: dict[str, BoolArray] = field(default_factory=dict)
    # The city-wide rows published (official counts only): per metric, shape (days,), and the
    # days that have one. Kept as published, apart from the districts' rows.
    city: dict[str, IntArray] = field(default_factory=dict)
    city_published: BoolArray | None = None

    def city_infections(self) -> tuple[IntArray, BoolArray]:
        """The city's new local infections of each day from its published rows, and the days
        that have one (elsewhere the value is 0 and the districts' sum stands)."""
        if not self.city or self.city_published is None:
            none = np.zeros(len(self.days), dtype=np.bool_)
            return np.zeros(len(self.days), dtype=np.int64), none
        published = self.city_published
        v = self.city
        result: IntArray = np.maximum(
            v["new_confirmed"] - v["conversions"] + v["new_asymptomatic"], 0
        )
        return result, published

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(d.code for d in self.districts)

    def unknown_counts(self) -> BoolArray:
        """Cells (districts × days) whose case counts are unknown (a day not reported)."""
        unknown: BoolArray = self.missing["new_confirmed"] | self.missing["new_asymptomatic"]
        return unknown

    def infections(self) -> IntArray:
        """New local infections: confirmed plus asymptomatic, minus conversions (already
        counted as asymptomatic on an earlier day)."""
        v = self.values
        result: IntArray = v["new_confirmed"] - v["conversions"] + v["new_asymptomatic"]
        return np.maximum(result, 0)

    def surface_infections(self) -> IntArray:
        """Infections found on the surface; where that split is unknown, all of the day's
        infections (so that surface zero is never claimed without evidence)."""
        infections = self.infections()
        unknown = self.missing["found_on_surface"] | self.missing["found_under_control"]
        surface = self.values["found_on_surface"]
        known_under = self.values["found_under_control"]
        # Only one half of the split known: the other is the rest of the day's infections.
        derived = np.where(self.missing["found_on_surface"], infections - known_under, surface)
        both_missing = self.missing["found_on_surface"] & self.missing["found_under_control"]
        result: IntArray = np.where(both_missing, infections, np.where(unknown, derived, surface))
        return np.clip(result, 0, None)


def daily_series(
    session: Session,
    *,
    first_day: date,
    last_day: date,
    metrics: Sequence[str] = OFFICIAL_METRICS,
    source: Source = "auto",
) -> DailySeries:
    """Read `metrics` for every district over [first_day, last_day] from one source.

    ``auto`` reads the official counts when any whole-day official count falls in the range,
    else the aggregates: a city that imports published figures analyses those.
    """
    if last_day < first_day:
        raise ValidationFailed(
            errors=[RowError("request", "last_day", "must not be before first_day")]
        )
    resolved = resolve_source(session, first_day=first_day, last_day=last_day, source=source)
    if resolved == "official":
        unknown = [name for name in metrics if name not in OFFICIAL_METRICS]
        if unknown:
            raise ValidationFailed(
                errors=[RowError("request", "metrics", f"not in official counts: {unknown}")]
            )
    else:
        unknown = [name for name in metrics if name not in METRICS]
        if unknown:
            raise ValidationFailed(
                errors=[RowError("request", "metrics", f"unknown metrics: {unknown}")]
            )
    districts = tuple(areas_service.list_districts(session))
    row_of = {d.id: i for i, d in enumerate(districts)}
    days = tuple(first_day + timedelta(days=k) for k in range((last_day - first_day).days + 1))
    shape = (len(districts), len(days))
    values = {name: np.zeros(shape, dtype=np.int64) for name in metrics}
    missing = {name: np.zeros(shape, dtype=np.bool_) for name in metrics}
    model: Any = OfficialCount if resolved == "official" else DailyAggregate
    query = select(model.district_id, model.day, *(getattr(model, n) for n in metrics)).where(
        model.day >= first_day, model.day <= last_day
    )
    if resolved == "official":
        query = query.where(OfficialCount.until_minute == WHOLE_DAY_MINUTES)
    rows = session.execute(query).all()
    # One row per district and day (unique in both tables): each metric is placed by arrays.
    row_index = np.array([row_of[row[0]] for row in rows], dtype=np.intp)
    day_index = np.array([(row[1] - first_day).days for row in rows], dtype=np.intp)
    for column, name in enumerate(metrics, start=2):
        figures = [row[column] for row in rows]
        known = np.array([figure is not None for figure in figures], dtype=np.bool_)
        values[name][row_index[known], day_index[known]] = [f for f in figures if f is not None]
        missing[name][row_index[~known], day_index[~known]] = True
        if resolved != "official" and not known.any():
            # In the aggregates a metric no domain counts is NULL on every row of the days:
            # missing everywhere, also where no row exists.
            missing[name][:] = True
    city: dict[str, IntArray] = {}
    city_published: BoolArray | None = None
    if resolved == "official":
        reported = np.zeros(len(days), dtype=np.bool_)
        reported[day_index] = True
        for name in metrics:
            missing[name][:, ~reported] = True
        city, city_published = _city_rows(
            session, first_day=first_day, days=len(days), metrics=metrics
        )
    return DailySeries(
        source=resolved,
        districts=districts,
        days=days,
        values=values,
        missing=missing,
        city=city,
        city_published=city_published,
    )


def _city_rows(
    session: Session, *, first_day: date, days: int, metrics: Sequence[str]
) -> tuple[dict[str, IntArray], BoolArray]:
    """The whole-day city-wide rows over the days from `first_day`, by metric (0 where a
    figure is not published), and the days that have one."""
    wanted = [n for n in ("new_confirmed", "new_asymptomatic", "conversions") if n in metrics]
    values = {name: np.zeros(days, dtype=np.int64) for name in wanted}
    published = np.zeros(days, dtype=np.bool_)
    if len(wanted) < 3:
        return {}, published
    rows = session.execute(
        select(OfficialCityCount.day, *(getattr(OfficialCityCount, n) for n in wanted)).where(
            OfficialCityCount.day >= first_day,
            OfficialCityCount.day < first_day + timedelta(days=days),
            OfficialCityCount.until_minute == WHOLE_DAY_MINUTES,
        )
    ).all()
    for row in rows:
        k = (row[0] - first_day).days
        published[k] = True
        for column, name in enumerate(wanted, start=1):
            values[name][k] = row[column] or 0
    return values, published


def resolve_source(session: Session, *, first_day: date, last_day: date, source: Source) -> str:
    """The source `auto` stands for over these days (see `daily_series`)."""
    if source != "auto":
        return source
    official = session.scalar(
        select(OfficialCount.id)
        .where(
            OfficialCount.day >= first_day,
            OfficialCount.day <= last_day,
            OfficialCount.until_minute == WHOLE_DAY_MINUTES,
        )
        .limit(1)
    )
    return "official" if official is not None else "aggregates"


def require_counts(series: DailySeries) -> None:
    """Refuse a series in which no case count exists at all (nothing to analyse)."""
    if all(bool(series.missing[name].all()) for name in ("new_confirmed", "new_asymptomatic")):
        raise NotFound(
            f"no case counts from {series.days[0]} to {series.days[-1]}: refresh the "
            "aggregates (the cases domain counts them) or import the official counts",
            code="no_case_counts",
        )
