"""Tables of the situation picture: the daily aggregates per district and local day, the refresh
watermark that keeps them current incrementally, official counts imported from bulletins, and the
results the pages read, computed by the refresh job."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xietong.storage.base import Base, BigIntPK, UTCDateTime


class DailyAggregate(Base):
    """One district on one local day: one column per metric of docs/domain-contracts.md.

    NULL means that no domain of this deployment computes the metric (its domain has no
    `metrics` module); 0 means none counted. Rows are written only by the refresh.
    """

    __tablename__ = "analytics_daily_aggregate"
    __table_args__ = (Index("ix_analytics_daily_aggregate_day", "day"),)

    district_id: Mapped[int] = mapped_column(ForeignKey("areas_district.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    # screening (district of sampling)
    swabs_sampled: Mapped[int | None] = mapped_column(Integer)
    tubes_sampled: Mapped[int | None] = mapped_column(Integer)
    tubes_resulted: Mapped[int | None] = mapped_column(Integer)
    tubes_positive: Mapped[int | None] = mapped_column(Integer)
    pooled_positives: Mapped[int | None] = mapped_column(Integer)
    # cases (district of report)
    new_confirmed: Mapped[int | None] = mapped_column(Integer)
    new_asymptomatic: Mapped[int | None] = mapped_column(Integer)
    conversions: Mapped[int | None] = mapped_column(Integer)
    found_under_control: Mapped[int | None] = mapped_column(Integer)
    found_on_surface: Mapped[int | None] = mapped_column(Integer)
    quarantine_occupancy: Mapped[int | None] = mapped_column(Integer)
    # referrals (receiving district)
    referrals_opened: Mapped[int | None] = mapped_column(Integer)
    referrals_closed: Mapped[int | None] = mapped_column(Integer)
    referrals_overdue: Mapped[int | None] = mapped_column(Integer)
    # zones
    active_high_risk_areas: Mapped[int | None] = mapped_column(Integer)
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RefreshWatermark(Base):
    """Up to when the aggregates are known to be current: the `now` of the last refresh."""

    __tablename__ = "analytics_refresh_watermark"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    watermark: Mapped[datetime] = mapped_column(UTCDateTime)
    cells_last_run: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PublishedFigures:
    """The figures of one publication, for a day or the day up to `until_minute`, and where
    they came from (district and city-wide rows alike)."""

    day: Mapped[date] = mapped_column(Date)
    until_minute: Mapped[int] = mapped_column(Integer)
    new_confirmed: Mapped[int] = mapped_column(Integer)
    new_asymptomatic: Mapped[int] = mapped_column(Integer)
    conversions: Mapped[int] = mapped_column(Integer)
    found_under_control: Mapped[int | None] = mapped_column(Integer)
    found_on_surface: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(200))
    imported_by: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OfficialCount(PublishedFigures, Base):
    """Published counts of one district for a day, or for the day up to a time (0–18h).

    `until_minute` is the end of the counted period in minutes after local midnight: 1440 for
    the whole day, 1080 for "0—18时". A corrected publication replaces the earlier figures.
    """

    __tablename__ = "analytics_official_count"
    __table_args__ = (
        UniqueConstraint("district_id", "day", "until_minute"),
        Index("ix_analytics_official_count_day", "day"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("areas_district.id"))


class OfficialCityCount(PublishedFigures, Base):
    """Published city-wide counts for a day, or for the day up to a time, as printed.

    A commission prints the city's total apart from its districts' figures (a total may include
    units not broken down, or precede them): it is kept as published, never summed.
    """

    __tablename__ = "analytics_official_city_count"
    __table_args__ = (UniqueConstraint("day", "until_minute"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)


class OfficialCountVersion(PublishedFigures, Base):
    """A district's figures for a day as they stood before a corrected import replaced them.

    They were the published figures from `imported_at` until `replaced_at`; with the row in
    force (`OfficialCount`) they let a backtest read the counts as they stood at each date.
    """

    __tablename__ = "analytics_official_count_version"
    __table_args__ = (Index("ix_analytics_official_count_version_day", "day"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("areas_district.id"))
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PageResult(Base):
    """A result the pages read on every view (the trend, the forecast, the scenarios of a day),
    computed by the refresh job once the daily series changed (`analytics.page_results`).

    `key` is a digest of what it was computed from (the kind, the day, the parameters, the daily
    series' fingerprint with the policy version): a changed input is another key, so a row is
    never stale, only superseded. `payload` is JSON text (Python's, which keeps every float
    exactly, infinities included).
    """

    __tablename__ = "analytics_page_result"
    __table_args__ = (Index("ix_analytics_page_result_kind_day", "kind", "last_day"),)

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    last_day: Mapped[date] = mapped_column(Date)
    payload: Mapped[str] = mapped_column(Text)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
