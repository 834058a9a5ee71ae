"""The overview's numbers, read through the analytics and cases services.

Every panel is of one day, the day shown: the map, the curve, the surface panel, phase and Rt
come from one `analytics.situation.trend` (the same call as `GET /api/analytics/trend`) ending on
that day, and points and lines are read for it. The page shows the last complete day unless
another is asked for (a partial day would read as a fall; asked for, it says so). Points and
lines come from the cases services (clusters, chains, spillovers), which only roles that may
read persons see.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

from sqlalchemy.orm import Session

from xietong.analytics import expected as analytics_expected
from xietong.analytics import page_results
from xietong.analytics import service as analytics_service
from xietong.analytics import situation as analytics_situation
from xietong.analytics.nowcasting import DelayReads
from xietong.analytics.schemas import ExpectedRead, TrendRead, UnitTrend
from xietong.cases.clusters import service as cluster_service
from xietong.cases.links import service as link_service
from xietong.cases.schemas import ChainSummary, ClusterRead
from xietong.core.errors import NotFound, PermissionDenied
from xietong.core.principal import Principal
from xietong.policy.service import policy_in_force
from xietong.web import memo

CURVE_DAYS = 28
PANEL_ROWS = 50


@dataclass(frozen=True)
class Situation:
    """The trend up to the day shown: every panel of the overview reads this one trend."""

    trend: TrendRead
    as_of: datetime | None
    # The daily series of the curve's days, as `memo.series_fingerprint` reads it.
    fingerprint: str

    @property
    def day(self) -> date:
        return self.trend.parameters.last_day

    @property
    def phases(self) -> TrendRead:
        return self.trend

    @property
    def phase_day(self) -> date:
        return self.trend.parameters.last_day

    def on_day(self, unit: UnitTrend) -> tuple[int | None, int | None]:
        """(infections, of which on the surface) of a unit on the day shown; None: the day
        was not reported."""
        last = unit.series[-1]
        return last.cases, last.surface_cases

    def surface_by_code(self) -> dict[str, int | None]:
        return {u.code: self.on_day(u)[1] for u in self.trend.districts}

    def city_curve(self) -> tuple[list[date], list[int | None], list[int | None]]:
        points = self.trend.city.series
        days = [p.day for p in points]
        surface = [p.surface_cases for p in points]
        under = [
            p.cases - p.surface_cases
            if p.cases is not None and p.surface_cases is not None
            else None
            for p in points
        ]
        return days, under, surface

    def city_nowcast(self) -> tuple[list[float | None], list[float | None], list[float | None]]:
        """The city's infections by the day first sampled (nowcast, lower, upper per day), all
        None where there is no nowcast (official counts)."""
        points = self.trend.city.series
        return (
            [p.nowcast for p in points],
            [p.nowcast_lower for p in points],
            [p.nowcast_upper for p in points],
        )

    def rows(
        self, *, by: Literal["cases", "surface"] = "cases"
    ) -> list[tuple[UnitTrend, UnitTrend, int | None, int | None]]:
        """Per district, most `by` first (not reported last): its trend on the day shown (twice,
        as the template reads it), cases and surface that day."""
        found = []
        for unit in self.trend.districts:
            cases, surface = self.on_day(unit)
            found.append((unit, unit, cases, surface))

        def count(row: tuple[UnitTrend, UnitTrend, int | None, int | None]) -> int:
            value = row[2] if by == "cases" else row[3]
            return -1 if value is None else value

        found.sort(key=count, reverse=True)
        return found


def trend(
    session: Session,
    *,
    last_day: date,
    days: int = CURVE_DAYS,
    fingerprint: str | None = None,
    reads: DelayReads | None = None,
) -> TrendRead:
    """`analytics.situation.trend`, remembered while its daily series stays the same.

    `fingerprint` may be given for a range of days covering this trend's (one read for two);
    `reads`, the view's reads of the reporting delays (the forecast reads them too).
    """
    first_day = last_day - timedelta(days=days - 1)
    if fingerprint is None:
        fingerprint = memo.series_fingerprint(session, first_day=first_day, last_day=last_day)
    key = ("trend", last_day, days, fingerprint)
    # Kept by the refresh job for the last complete day: found in the database, else computed.
    return memo.remembered(
        key,
        lambda: page_results.stored_or_computed(
            session,
            page_results.trend_key(last_day=last_day, days=days, fingerprint=fingerprint),
            TrendRead,
            lambda: analytics_situation.trend(session, last_day=last_day, days=days, reads=reads),
        ),
    )


def expected(
    session: Session,
    *,
    last_day: date,
    tz: str,
    fingerprint: str | None = None,
    per_district: bool = True,
    reads: DelayReads | None = None,
) -> ExpectedRead:
    """The backtested forecast from `last_day` (`analytics.expected`), remembered as the trend
    is, under the daily series of its history (`fingerprint`, of the `HISTORY_DAYS` days up
    to `last_day`, may be given when already read) and the census populations; and under a
    digest of the history itself, as the mutual-aid outlook remembers its projection, so that
    the recalibrated ensembles are drawn once per history. NotFound without counts.
    Without `per_district`, the city's forecast alone (its districts' list empty).
    """
    first_day = last_day - timedelta(days=analytics_expected.HISTORY_DAYS - 1)
    if fingerprint is None:
        fingerprint = memo.series_fingerprint(session, first_day=first_day, last_day=last_day)

    def computed() -> ExpectedRead:
        inputs = analytics_expected.expected_inputs(session, last_day=last_day, tz=tz, reads=reads)
        return memo.remembered(
            ("expected", per_district, inputs.digest()),
            lambda: analytics_expected.expected_forecast(inputs, per_district=per_district),
        )

    # The susceptibles cap the forecast: a census population loaded since is another key.
    populations = page_results.district_populations(session)
    key = ("expected of series", per_district, last_day, tz, fingerprint, populations)
    # Kept by the refresh job for the last complete day: found in the database, else computed.
    kept = page_results.expected_key(
        last_day=last_day,
        tz=tz,
        fingerprint=fingerprint,
        populations=populations,
        per_district=per_district,
    )
    return memo.remembered(
        key, lambda: page_results.stored_or_computed(session, kept, ExpectedRead, computed)
    )


def situation(
    session: Session, *, day: date, reads: DelayReads | None = None
) -> tuple[Situation | None, str | None]:
    """The situation on `day`, or None with the reason (no case counts at all yet)."""
    fingerprint = memo.series_fingerprint(
        session, first_day=day - timedelta(days=CURVE_DAYS - 1), last_day=day
    )
    try:
        shown = trend(session, last_day=day, fingerprint=fingerprint, reads=reads)
    except NotFound as exc:
        return None, exc.message
    return Situation(shown, analytics_service.last_watermark(session), fingerprint), None


def expected_after(
    session: Session, picture: Situation, *, tz: str, reads: DelayReads | None = None
) -> ExpectedRead:
    """The city's backtested forecast after the day of `picture` (the curve draws the city
    only, so its districts are not forecast: 0.35 s of processor time saved on the first view
    after each refresh): its history is the curve's days (one fingerprint keys both) when they
    are as many, and its delays are cut from those the trend read (`reads`)."""
    same_days = CURVE_DAYS == analytics_expected.HISTORY_DAYS
    return expected(
        session,
        last_day=picture.day,
        tz=tz,
        fingerprint=picture.fingerprint if same_days else None,
        per_district=False,
        reads=reads,
    )


@dataclass(frozen=True)
class SpilloverPair:
    from_code: str
    to_code: str
    links: int


@dataclass(frozen=True)
class Coordination:
    """Points (active clusters) and lines (open chains, spillovers); None: not for this role."""

    clusters: list[ClusterRead] | None = None
    clusters_total: int = 0
    chains: list[ChainSummary] | None = None
    chains_total: int = 0
    spillovers: list[SpilloverPair] | None = None
    notes: list[str] = field(default_factory=list)


def coordination(session: Session, *, principal: Principal, day: date) -> Coordination:
    try:
        clusters, clusters_total = cluster_service.list_clusters(
            session, principal=principal, status="active", today=day, limit=PANEL_ROWS
        )
        quiet_after = policy_in_force(session, day=day).cluster.inactive_after_days
        # A chain is open while its last case is more recent than a cluster's quiet period.
        chains, chains_total = link_service.list_chains(
            session,
            principal=principal,
            min_cases=2,
            active_since=day - timedelta(days=quiet_after),
            started_by=day,
            limit=PANEL_ROWS,
        )
        week = link_service.spillover_pairs(
            session, principal=principal, first_day=day - timedelta(days=6), last_day=day
        )
    except PermissionDenied:
        return Coordination()
    return Coordination(
        clusters=cluster_service.to_reads(session, clusters, today=day),
        clusters_total=clusters_total,
        chains=chains,
        chains_total=chains_total,
        spillovers=[SpilloverPair(a, b, n) for a, b, n in week],
    )
