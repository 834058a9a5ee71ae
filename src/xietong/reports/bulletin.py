"""The daily epidemic bulletin as text, in the official form of health commission bulletins.

Pure: per-district counts in (already aggregated by the caller), text or a structured summary out;
no database, standard library only. Simplified Chinese by default, traditional Chinese and English.

Form (simplified Chinese; traditional uses the same sentences in traditional characters)::

    2022年11月14日0—18时，重庆市新增本土确诊病例97例（含3例无症状感染者转为确诊病例），新增本土无症状感染者120例。
    新增本土确诊病例中，沙坪坝区27例，垫江县18例，……，涪陵区、江北区、江津区、万州区各2例，……各1例。
    新增本土无症状感染者中，……。
    以上新增本土确诊病例和无症状感染者中，管控内发现150例，社会面筛查发现67例。

- Period: the wall-clock hours of ``start`` and ``end`` in ``time_zone``; an end at midnight is
  "24时" of the day before, so a whole day reads "0—24时" and 0 to 18h reads "0—18时". A period
  over more than one day reads "11月13日18时至11月14日18时".
- Breakdown: one sentence per measure that is non-zero (confirmed, asymptomatic); districts with
  zero are left out; counts descending; every set of districts with the same count is one group,
  written "甲、乙各N例" (a group of one is "甲N例").
- Within a group, districts follow one collation: the district's pinyin with tone marks (every
  combining mark, so ü compares as u) removed, letters only (spaces, apostrophes and hyphens
  ignored), compared case-insensitively; ties, then, by district code. The published list of
  14 November 2022 groups the same figures, but its order inside groups follows no single
  collation: its group of 1 is in pinyin order except 长寿 (Chángshòu) after 渝中 and 酉阳 (a
  county) last, while "秀山县4例，永川区4例" puts a county before a district (see
  ``docs/bulletin.md``).
- Found under control vs on the surface: one closing sentence over every confirmed case and
  asymptomatic infection of the period (conversions included), shown only for a figure that every
  district with cases reports, so that a city total is never a partial sum.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from xietong.core.clock import DEFAULT_TZ

Language = Literal["zh-Hans", "zh-Hant", "en"]
Measure = Literal["new_confirmed", "new_asymptomatic"]

LANGUAGES: Final[tuple[Language, ...]] = get_args(Language)

_COUNT_FIELDS: Final = ("new_confirmed", "new_asymptomatic", "conversions")
_FOUND_FIELDS: Final = ("found_under_control", "found_on_surface")


@dataclass(frozen=True, kw_only=True)
class DistrictCounts:
    """One reporting unit's new local infections in the period.

    ``found_under_control`` and ``found_on_surface`` split the unit's confirmed cases plus
    asymptomatic infections (conversions included) by where they were found; ``None`` when
    not known.
    """

    code: str
    name_hans: str
    name_hant: str
    english: str
    pinyin: str
    new_confirmed: int = 0
    new_asymptomatic: int = 0
    conversions: int = 0
    found_under_control: int | None = None
    found_on_surface: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.code, str) or not self.code.strip():
            raise ValueError(f"district {self.name_hans!r}: code must not be blank")
        where = f"district {self.code} ({self.name_hans})"
        for name in ("name_hans", "name_hant", "english", "pinyin"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip() or "\n" in value:
                raise ValueError(f"{where}: {name} must be a non-blank single line")
        if not _pinyin_letters(self.pinyin).isascii():
            raise ValueError(f"{where}: pinyin must be romanised, got {self.pinyin!r}")
        for name in _COUNT_FIELDS:
            _check_count(where, name, getattr(self, name))
        for name in _FOUND_FIELDS:
            value = getattr(self, name)
            if value is not None:
                _check_count(where, name, value)
        if self.conversions > self.new_confirmed:
            raise ValueError(
                f"{where}: conversions ({self.conversions}) exceeds new_confirmed "
                f"({self.new_confirmed}); a conversion is counted among the new confirmed cases"
            )
        reported = self.new_confirmed + self.new_asymptomatic
        under, surface = self.found_under_control, self.found_on_surface
        if under is not None and surface is not None:
            if under + surface != reported:
                raise ValueError(
                    f"{where}: found_under_control ({under}) + found_on_surface ({surface}) "
                    f"must equal new_confirmed + new_asymptomatic ({reported})"
                )
        else:
            for name in _FOUND_FIELDS:
                value = getattr(self, name)
                if value is not None and value > reported:
                    raise ValueError(
                        f"{where}: {name} ({value}) exceeds new_confirmed + new_asymptomatic "
                        f"({reported})"
                    )

    @property
    def reported(self) -> int:
        return self.new_confirmed + self.new_asymptomatic


@dataclass(frozen=True, kw_only=True)
class CityTotals:
    """The city's totals as the commission published them, apart from its districts' rows (a
    total may count units not broken down): printed as published, never replaced by a sum."""

    new_confirmed: int
    new_asymptomatic: int
    conversions: int = 0
    found_under_control: int | None = None
    found_on_surface: int | None = None

    def __post_init__(self) -> None:
        for name in ("new_confirmed", "new_asymptomatic", "conversions", *_FOUND_FIELDS):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or value < 0):
                raise ValueError(f"city: {name} must be a count, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class ExtraLine:
    """A city-level line appended to the bulletin, in each of the three languages."""

    zh_hans: str
    zh_hant: str
    en: str

    def __post_init__(self) -> None:
        for name in ("zh_hans", "zh_hant", "en"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip() or "\n" in value:
                raise ValueError(f"extra_lines: {name} must be a non-blank single line")

    def text(self, lang: Language) -> str:
        return {"zh-Hans": self.zh_hans, "zh-Hant": self.zh_hant, "en": self.en}[lang].strip()


@dataclass(frozen=True, kw_only=True)
class BulletinInput:
    """What one bulletin reports: the period, the place and the counts of its districts.

    ``start`` and ``end`` are timezone-aware; they are shown as wall-clock time in
    ``time_zone`` (local times in that zone pass through unchanged).
    """

    start: datetime
    end: datetime
    place_hans: str
    place_hant: str
    place_english: str
    districts: tuple[DistrictCounts, ...]
    extra_lines: tuple[ExtraLine, ...] = ()
    time_zone: str = DEFAULT_TZ
    # The published city-wide row of the period, when there is one: the totals come from it.
    city: CityTotals | None = None

    def __post_init__(self) -> None:
        for name in ("place_hans", "place_hant", "place_english"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{name}: must not be blank")
        try:
            zone = ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"time_zone: unknown time zone {self.time_zone!r}") from exc
        for name in ("start", "end"):
            value = getattr(self, name)
            if not isinstance(value, datetime) or value.utcoffset() is None:
                raise ValueError(f"{name}: must be a timezone-aware datetime")
            local = value.astimezone(zone)
            if local.second or local.microsecond:
                raise ValueError(f"{name}: a bulletin period begins and ends on a whole minute")
        if self.end <= self.start:
            raise ValueError(f"end: must be after start ({self.start.isoformat()})")
        # A list is accepted where a tuple is declared; keep the frozen value immutable.
        object.__setattr__(self, "districts", tuple(self.districts))
        object.__setattr__(self, "extra_lines", tuple(self.extra_lines))
        seen: dict[str, DistrictCounts] = {}
        for row in self.districts:
            if not isinstance(row, DistrictCounts):
                raise ValueError(f"districts: expected DistrictCounts, got {type(row).__name__}")
            if row.code in seen:
                raise ValueError(
                    f"districts: district code {row.code} appears twice "
                    f"({seen[row.code].name_hans}, {row.name_hans})"
                )
            seen[row.code] = row
        for line in self.extra_lines:
            if not isinstance(line, ExtraLine):
                raise ValueError(f"extra_lines: expected ExtraLine, got {type(line).__name__}")


@dataclass(frozen=True, kw_only=True)
class CountGroup:
    """Districts that reported the same count, in collation order."""

    count: int
    district_codes: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class BulletinSummary:
    """The figures of a bulletin without its wording: for tests, the API and the dashboard."""

    start: datetime  # in the bulletin's time zone
    end: datetime
    whole_day: bool
    new_confirmed: int
    new_asymptomatic: int
    conversions: int
    found_under_control: int | None  # None when some district with cases does not report it
    found_on_surface: int | None
    confirmed_groups: tuple[CountGroup, ...]
    asymptomatic_groups: tuple[CountGroup, ...]


def collation_key(*, pinyin: str, code: str) -> tuple[str, str]:
    """Sort key of a district inside a group: toneless pinyin letters, case-folded, then code."""
    return (_pinyin_letters(pinyin).casefold(), code)


def count_groups(
    districts: Iterable[DistrictCounts], *, measure: Measure
) -> tuple[CountGroup, ...]:
    """Group the districts with a non-zero ``measure`` by count, largest count first."""
    if measure not in get_args(Measure):
        raise ValueError(f"measure: expected one of {get_args(Measure)}, got {measure!r}")
    by_count: dict[int, list[DistrictCounts]] = {}
    for row in districts:
        count: int = getattr(row, measure)
        if count:
            by_count.setdefault(count, []).append(row)
    return tuple(
        CountGroup(
            count=count,
            district_codes=tuple(
                row.code
                for row in sorted(
                    by_count[count], key=lambda r: collation_key(pinyin=r.pinyin, code=r.code)
                )
            ),
        )
        for count in sorted(by_count, reverse=True)
    )


def summarise(bulletin: BulletinInput) -> BulletinSummary:
    """The bulletin's figures: totals, groups by count, and where the cases were found."""
    zone = ZoneInfo(bulletin.time_zone)
    start, end = bulletin.start.astimezone(zone), bulletin.end.astimezone(zone)
    rows = bulletin.districts
    city = bulletin.city
    with_cases = [row for row in rows if row.reported]
    return BulletinSummary(
        start=start,
        end=end,
        whole_day=(
            start.time() == time(0)
            and end.time() == time(0)
            and end.date() == start.date() + timedelta(days=1)
        ),
        new_confirmed=city.new_confirmed if city else sum(row.new_confirmed for row in rows),
        new_asymptomatic=city.new_asymptomatic
        if city
        else sum(row.new_asymptomatic for row in rows),
        conversions=city.conversions if city else sum(row.conversions for row in rows),
        found_under_control=city.found_under_control
        if city
        else _complete_sum(row.found_under_control for row in with_cases),
        found_on_surface=city.found_on_surface
        if city
        else _complete_sum(row.found_on_surface for row in with_cases),
        confirmed_groups=count_groups(rows, measure="new_confirmed"),
        asymptomatic_groups=count_groups(rows, measure="new_asymptomatic"),
    )


def render_bulletin(bulletin: BulletinInput, *, lang: Language = "zh-Hans") -> str:
    """The bulletin's text, one sentence a line, in ``lang``."""
    if lang not in LANGUAGES:
        raise ValueError(f"lang: expected one of {LANGUAGES}, got {lang!r}")
    summary = summarise(bulletin)
    names = {row.code: _name(row, lang) for row in bulletin.districts}
    if lang == "en":
        lines = _render_english(summary, bulletin.place_english.strip(), names)
    else:
        place = bulletin.place_hans if lang == "zh-Hans" else bulletin.place_hant
        lines = _render_chinese(summary, place.strip(), names, _ZH[lang])
    lines.extend(line.text(lang) for line in bulletin.extra_lines)
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Chinese


@dataclass(frozen=True)
class _ChineseWording:
    hour: str
    minute: str
    confirmed: str
    asymptomatic: str
    conversions: str  # "{n}" is the number of conversions
    no_confirmed: str
    no_asymptomatic: str
    no_infections: str
    both_subject: str
    under_control: str
    on_surface: str


_ZH: Final[dict[str, _ChineseWording]] = {
    "zh-Hans": _ChineseWording(
        hour="时",
        minute="分",
        confirmed="新增本土确诊病例",
        asymptomatic="新增本土无症状感染者",
        conversions="（含{n}例无症状感染者转为确诊病例）",
        no_confirmed="无新增本土确诊病例",
        no_asymptomatic="无新增本土无症状感染者",
        no_infections="无新增本土确诊病例和无症状感染者",
        both_subject="新增本土确诊病例和无症状感染者",
        under_control="管控内发现",
        on_surface="社会面筛查发现",
    ),
    "zh-Hant": _ChineseWording(
        hour="時",
        minute="分",
        confirmed="新增本土確診病例",
        asymptomatic="新增本土無症狀感染者",
        conversions="（含{n}例無症狀感染者轉為確診病例）",
        no_confirmed="無新增本土確診病例",
        no_asymptomatic="無新增本土無症狀感染者",
        no_infections="無新增本土確診病例和無症狀感染者",
        both_subject="新增本土確診病例和無症狀感染者",
        under_control="管控內發現",
        on_surface="社會面篩查發現",
    ),
}


def _render_chinese(
    summary: BulletinSummary, place: str, names: dict[str, str], w: _ChineseWording
) -> list[str]:
    period = _chinese_period(summary.start, summary.end, w)
    c, a = summary.new_confirmed, summary.new_asymptomatic
    if not c and not a:
        return [f"{period}，{place}{w.no_infections}。"]
    confirmed = w.no_confirmed
    if c:
        converted = w.conversions.format(n=summary.conversions) if summary.conversions else ""
        confirmed = f"{w.confirmed}{c}例{converted}"
    asymptomatic = f"{w.asymptomatic}{a}例" if a else w.no_asymptomatic
    lines = [f"{period}，{place}{confirmed}，{asymptomatic}。"]
    breakdowns = (
        (w.confirmed, summary.confirmed_groups),
        (w.asymptomatic, summary.asymptomatic_groups),
    )
    for subject, groups in breakdowns:
        if groups:
            items = "，".join(_chinese_group(group, names) for group in groups)
            lines.append(f"{subject}中，{items}。")
    found = []
    if summary.found_under_control is not None:
        found.append(f"{w.under_control}{summary.found_under_control}例")
    if summary.found_on_surface is not None:
        found.append(f"{w.on_surface}{summary.found_on_surface}例")
    if found:
        subject = w.both_subject if c and a else (w.confirmed if c else w.asymptomatic)
        lines.append(f"以上{subject}中，{'，'.join(found)}。")
    return lines


def _chinese_group(group: CountGroup, names: dict[str, str]) -> str:
    listed = "、".join(names[code] for code in group.district_codes)
    each = "各" if len(group.district_codes) > 1 else ""
    return f"{listed}{each}{group.count}例"


def _chinese_period(start: datetime, end: datetime, w: _ChineseWording) -> str:
    end_day, end_hour, end_minute = _end_clock(end)

    def clock(hour: int, minute: int) -> str:
        return f"{hour}{w.hour}{minute}{w.minute}" if minute else f"{hour}{w.hour}"

    def day(d: date, *, with_year: bool = True) -> str:
        year = f"{d.year}年" if with_year else ""
        return f"{year}{d.month}月{d.day}日"

    opening = day(start.date())
    if end_day == start.date():
        if not start.minute and not end_minute:
            return f"{opening}{start.hour}—{end_hour}{w.hour}"
        return f"{opening}{clock(start.hour, start.minute)}—{clock(end_hour, end_minute)}"
    closing = day(end_day, with_year=end_day.year != start.year)
    return f"{opening}{clock(start.hour, start.minute)}至{closing}{clock(end_hour, end_minute)}"


# ---------------------------------------------------------------------------------------------
# English

_MONTHS: Final = (
    "January", "February", "March", "April", "May", "June", "July",
    "August", "September", "October", "November", "December",
)  # fmt: skip


def _render_english(summary: BulletinSummary, place: str, names: dict[str, str]) -> list[str]:
    period = _english_period(summary.start, summary.end)
    c, a = summary.new_confirmed, summary.new_asymptomatic
    if not c and not a:
        none = "no new local confirmed cases or asymptomatic infections"
        return [f"{period}, {place} reported {none}."]
    confirmed = "no new local confirmed cases"
    if c:
        confirmed = _plural(c, "new local confirmed case", "new local confirmed cases")
        if summary.conversions:
            converted = _plural(
                summary.conversions, "asymptomatic infection", "asymptomatic infections"
            )
            confirmed += f" (including {converted} reclassified as confirmed)"
    asymptomatic = "no new local asymptomatic infections"
    if a:
        asymptomatic = _plural(
            a, "new local asymptomatic infection", "new local asymptomatic infections"
        )
    lines = [f"{period}, {place} reported {confirmed} and {asymptomatic}."]
    breakdowns = (
        ("New local confirmed cases", summary.confirmed_groups),
        ("New local asymptomatic infections", summary.asymptomatic_groups),
    )
    for subject, groups in breakdowns:
        if groups:
            items = ", ".join(_english_group(group, names) for group in groups)
            lines.append(f"{subject}: {items}.")
    found = []
    if summary.found_under_control is not None:
        found.append((summary.found_under_control, "under control"))
    if summary.found_on_surface is not None:
        found.append((summary.found_on_surface, "by screening in the community"))
    if found:
        first, *rest = found
        verb = "was" if first[0] == 1 else "were"
        clauses = [f"{first[0]} {verb} found {first[1]}"] + [f"{n} {how}" for n, how in rest]
        lines.append(f"Of the above, {' and '.join(clauses)}.")
    return lines


def _english_group(group: CountGroup, names: dict[str, str]) -> str:
    listed = _english_list([names[code] for code in group.district_codes])
    each = " each" if len(group.district_codes) > 1 else ""
    return f"{group.count}{each} in {listed}"


def _english_list(items: Sequence[str]) -> str:
    if len(items) == 1:
        return items[0]
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _english_period(start: datetime, end: datetime) -> str:
    end_day, end_hour, end_minute = _end_clock(end)

    def day(d: date) -> str:
        return f"{d.day} {_MONTHS[d.month - 1]} {d.year}"

    opening = f"{start.hour:02d}:{start.minute:02d}"
    closing = f"{end_hour:02d}:{end_minute:02d}"
    if end_day == start.date():
        return f"From {opening} to {closing} on {day(end_day)}"
    return f"From {opening} on {day(start.date())} to {closing} on {day(end_day)}"


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


# ---------------------------------------------------------------------------------------------
# Shared


def _end_clock(end: datetime) -> tuple[date, int, int]:
    """The end as (day, hour, minute), midnight being 24h of the day before (the bulletins'
    "0—24时")."""
    if end.time() == time(0):
        return end.date() - timedelta(days=1), 24, 0
    return end.date(), end.hour, end.minute


def _name(row: DistrictCounts, lang: Language) -> str:
    if lang == "en":
        return row.english.strip()
    return (row.name_hans if lang == "zh-Hans" else row.name_hant).strip()


def _pinyin_letters(pinyin: str) -> str:
    decomposed = unicodedata.normalize("NFD", pinyin)
    return "".join(ch for ch in decomposed if ch.isalpha() and not unicodedata.combining(ch))


def _complete_sum(values: Iterable[int | None]) -> int | None:
    total = 0
    for value in values:
        if value is None:
            return None
        total += value
    return total


def _check_count(where: str, name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{where}: {name} must be a whole number, got {value!r}")
    if value < 0:
        raise ValueError(f"{where}: {name} must not be negative, got {value}")
