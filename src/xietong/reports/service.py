"""The daily bulletin for a period: its figures gathered from the store, its text from `bulletin`.

Where the figures of a period come from (docs/analytics.md, "The bulletin's period"):

* a whole day (0—24时): the official counts of that day when imported, else the day's aggregates;
* part of a day (e.g. 0—18时): the official counts published for exactly that period when
  imported, else the raw facts counted by instant, through the optional `period_metrics` of the
  domains' metrics modules (facts detected, or converted, in [start, end)). Aggregates are per
  whole local day and are never pro-rated over hours.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from xietong.analytics import service as analytics_service
from xietong.analytics.catalogue import OFFICIAL_METRICS, Source
from xietong.analytics.official import (
    WHOLE_DAY_MINUTES,
    official_city_count_for_period,
    official_counts_for_period,
)
from xietong.analytics.service import MetricsProvider, metrics_providers
from xietong.areas import service as areas_service
from xietong.areas.names import short_name
from xietong.areas.reference import chongqing
from xietong.core.clock import DEFAULT_TZ
from xietong.core.errors import DomainError, NotFound, RowError, ValidationFailed
from xietong.reports.bulletin import (
    BulletinInput,
    CityTotals,
    CountGroup,
    DistrictCounts,
    Language,
    render_bulletin,
    summarise,
)
from xietong.reports.schemas import BulletinRead, BulletinSource, CountGroupRead

Figures = dict[str, int | None]
_UNTIL = re.compile(r"^(\d{1,2})(?::(\d{2}))?$")


def parse_until(text: str | None) -> int:
    """ "18", "18:00" or "18:30" → minutes after midnight; None, "" or "24:00" → the whole day."""
    if text is None or not text.strip():
        return WHOLE_DAY_MINUTES
    match = _UNTIL.match(text.strip())
    minute = -1
    if match is not None and int(match.group(2) or 0) < 60:
        minute = int(match.group(1)) * 60 + int(match.group(2) or 0)
    if not 0 < minute <= WHOLE_DAY_MINUTES:
        raise ValidationFailed(
            errors=[RowError("request", "until", "expected HH or HH:MM, 00:01 to 24:00", text)]
        )
    return minute


def period_bounds(day: date, until_minute: int, tz: str) -> tuple[datetime, datetime]:
    """Local midnight of `day` and the end of the period, `until_minute` minutes later."""
    start = datetime.combine(day, time.min, tzinfo=ZoneInfo(tz))
    return start, start + timedelta(minutes=until_minute)


def bulletin_input(
    session: Session,
    *,
    day: date,
    until_minute: int = WHOLE_DAY_MINUTES,
    source: Source = "auto",
    tz: str = DEFAULT_TZ,
    providers: list[MetricsProvider] | None = None,
    short_names: bool = False,
) -> tuple[BulletinInput, BulletinSource]:
    """The bulletin's input for `day` from midnight to `until_minute`, and the source used.

    `short_names`: the units as the commission prints them (秀山县 for 秀山土家族苗族自治县)."""
    if not 0 < until_minute <= WHOLE_DAY_MINUTES:
        raise ValidationFailed(
            errors=[RowError("request", "until", "must lie within the day (00:01..24:00)")]
        )
    start, end = period_bounds(day, until_minute, tz)
    figures: dict[int, Figures] | None = None
    city: CityTotals | None = None
    used: BulletinSource = "official"
    if source in ("auto", "official"):
        published = official_counts_for_period(session, day=day, until_minute=until_minute)
        city_row = official_city_count_for_period(session, day=day, until_minute=until_minute)
        if city_row is not None:
            city = CityTotals(**{name: getattr(city_row, name) for name in OFFICIAL_METRICS})
        if published or city is not None:
            figures = {
                district_id: {name: getattr(row, name) for name in OFFICIAL_METRICS}
                for district_id, row in published.items()
            }
        elif source == "official":
            raise NotFound(
                f"no official counts imported for {day} up to {_clock(until_minute)}",
                code="no_official_counts",
            )
    if figures is None and until_minute == WHOLE_DAY_MINUTES:
        figures, used = _aggregated(session, day=day), "aggregates"
    elif figures is None:
        figures = _counted_from_facts(session, start=start, end=end, tz=tz, providers=providers)
        used = "facts"
    try:
        bulletin = BulletinInput(
            start=start,
            end=end,
            place_hans=chongqing().name_hans,
            place_hant=chongqing().name_hant,
            place_english=chongqing().english,
            districts=tuple(
                _district_counts(district, figures.get(district.id, {}), short=short_names)
                for district in areas_service.list_districts(session)
            ),
            time_zone=tz,
            city=city,
        )
    except ValueError as exc:
        raise DomainError(
            f"the counts of {day} are inconsistent: {exc}", code="bad_counts"
        ) from exc
    return bulletin, used


def bulletin(
    session: Session,
    *,
    day: date,
    lang: Language = "zh-Hans",
    until_minute: int = WHOLE_DAY_MINUTES,
    source: Source = "auto",
    tz: str = DEFAULT_TZ,
    providers: list[MetricsProvider] | None = None,
    short_names: bool = False,
) -> BulletinRead:
    """The bulletin of `day` (whole, or up to `until_minute`) as text and figures."""
    content, used = bulletin_input(
        session,
        day=day,
        until_minute=until_minute,
        source=source,
        tz=tz,
        providers=providers,
        short_names=short_names,
    )
    summary = summarise(content)
    names = {
        row.code: {"zh-Hans": row.name_hans, "zh-Hant": row.name_hant, "en": row.english}[lang]
        for row in content.districts
    }

    def groups(found: tuple[CountGroup, ...]) -> list[CountGroupRead]:
        return [
            CountGroupRead(
                count=group.count,
                district_codes=list(group.district_codes),
                names=[names[code] for code in group.district_codes],
            )
            for group in found
        ]

    return BulletinRead(
        day=day,
        lang=lang,
        start=summary.start,
        end=summary.end,
        whole_day=summary.whole_day,
        source=used,
        text=render_bulletin(content, lang=lang),
        new_confirmed=summary.new_confirmed,
        new_asymptomatic=summary.new_asymptomatic,
        conversions=summary.conversions,
        found_under_control=summary.found_under_control,
        found_on_surface=summary.found_on_surface,
        confirmed_groups=groups(summary.confirmed_groups),
        asymptomatic_groups=groups(summary.asymptomatic_groups),
    )


def _aggregated(session: Session, *, day: date) -> dict[int, Figures]:
    figures = analytics_service.official_counts_of_day(session, day=day)
    if not figures:
        raise NotFound(
            f"no counts for {day}: refresh the aggregates or import the official counts",
            code="no_counts",
        )
    if all(values[OFFICIAL_METRICS[0]] is None for values in figures.values()):
        raise NotFound(
            f"no case counts for {day}: this deployment counts no cases; import the official "
            "counts",
            code="no_case_counts",
        )
    return figures


def _counted_from_facts(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    tz: str,
    providers: list[MetricsProvider] | None,
) -> dict[int, Figures]:
    providers = metrics_providers() if providers is None else providers
    counting = [p for p in providers if p.period_metrics is not None and p.domain == "cases"]
    if not counting:
        raise NotFound(
            f"no counts for {start:%Y-%m-%d %H:%M}–{end:%H:%M}: import the official counts for "
            "that period (the cases domain does not count parts of a day)",
            code="no_partial_day_counts",
        )
    counted = counting[0].period_metrics(session, start=start, end=end, tz=tz)  # type: ignore[misc]
    figures: dict[int, Figures] = {}
    for district_id, values in counted.items():
        figures[int(district_id)] = {name: values.get(name) for name in OFFICIAL_METRICS}
    return figures


def _district_counts(
    district: areas_service.District, figures: Figures, *, short: bool
) -> DistrictCounts:
    return DistrictCounts(
        code=district.code,
        name_hans=short_name(district.name_hans) if short else district.name_hans,
        name_hant=short_name(district.name_hant) if short else district.name_hant,
        english=district.english,
        pinyin=district.pinyin,
        new_confirmed=figures.get("new_confirmed") or 0,
        new_asymptomatic=figures.get("new_asymptomatic") or 0,
        conversions=figures.get("conversions") or 0,
        found_under_control=figures.get("found_under_control"),
        found_on_surface=figures.get("found_on_surface"),
    )


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"
