"""Official counts: the published figures per district and day (or part of a day, 0–18h),
imported from CSV so that a city can run the situation picture on published numbers alone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Final, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.analytics.catalogue import OFFICIAL_METRICS
from xietong.analytics.daily_rows import DistrictDays, list_rows
from xietong.analytics.models import OfficialCityCount, OfficialCount, OfficialCountVersion
from xietong.analytics.schemas import OfficialImportReport
from xietong.areas import service as areas_service
from xietong.areas.names import NameLookup, fold, name_keys, name_lookup
from xietong.areas.reference import chongqing
from xietong.core.csvfiles import RejectsWriter, read_records
from xietong.core.errors import PermissionDenied, RowError, ValidationFailed
from xietong.core.principal import Principal, Role
from xietong.outbox import service as outbox
from xietong.storage.bulk import bulk_insert

WHOLE_DAY_MINUTES: Final = 24 * 60
# The stream topic of an import that changed the published counts (dashboards fetch them again).
OFFICIAL_IMPORTED: Final = "analytics.official_counts_imported"
# The code a city-wide row is stored under in the lookup (no district has it).
CITY: Final = "__city__"
# What a bulletin's table calls the whole city besides the city's own names.
CITY_WORDS: Final = ("全市", "全市合计", "全市合計", "合计", "合計", "city", "city-wide", "total")


OFFICIAL_REQUIRED: Final = ("district", "day", "new_confirmed", "new_asymptomatic")
OFFICIAL_OPTIONAL: Final = ("until", "conversions", "found_under_control", "found_on_surface")
_UNTIL = re.compile(r"^(\d{1,2}):(\d{2})$")


@dataclass
class _OfficialRow:
    line: int
    district_id: int | None  # None: the city-wide row
    day: date
    until_minute: int
    figures: dict[str, int | None]


def import_official_counts(
    session: Session,
    *,
    principal: Principal,
    stream: TextIO,
    source_name: str,
    now: datetime,
    load_valid: bool = False,
    rejects_path: Path | None = None,
) -> OfficialImportReport:
    """Import published counts per district and day from CSV: whole file or nothing.

    Columns: district (code, full name in either script, the short name a bulletin prints
    such as 秀山县, pinyin with or without tones, English name; or the city: its code or name,
    全市 or "city" for the city-wide row, kept as published), day (YYYY-MM-DD),
    until (HH:MM, optional: the counted period ends then; empty or 24:00 for the whole day),
    new_confirmed, new_asymptomatic, conversions (optional, 0), found_under_control and
    found_on_surface (optional). Importing a corrected file replaces the earlier figures; a
    district's figures replaced are kept as they stood until then (`official_infections_as_of`).
    """
    if principal.role is not Role.command:
        raise PermissionDenied("only the command centre imports official counts")
    lookup = _district_lookup(session)
    errors: list[RowError] = []
    columns = [*OFFICIAL_REQUIRED, *OFFICIAL_OPTIONAL]
    rejects = RejectsWriter(rejects_path, columns) if rejects_path else None
    accepted: dict[tuple[int | None, date, int], _OfficialRow] = {}
    rows_read = 0
    rejected_lines: set[int] = set()
    for line, record in read_records(
        stream, required=OFFICIAL_REQUIRED, optional=OFFICIAL_OPTIONAL
    ):
        rows_read += 1
        row, row_errors = _check_official_row(line, record, lookup)
        if row is not None:
            key = (row.district_id, row.day, row.until_minute)
            if key in accepted:
                row_errors.append(
                    RowError(
                        f"line {line}",
                        "district",
                        f"same district, day and period as line {accepted[key].line}",
                        record.get("district"),
                    )
                )
            else:
                accepted[key] = row
        if row_errors:
            errors.extend(row_errors)
            rejected_lines.add(line)
            if rejects is not None:
                rejects.write(line, record, row_errors)
    if rejects is not None:
        rejects.close()
    if errors and not load_valid:
        raise ValidationFailed(errors=errors, summary="official counts refused; nothing written")

    existing: dict[tuple[int | None, date, int], OfficialCount | OfficialCityCount] = {}
    days = {key[1] for key in accepted}
    for found in session.scalars(select(OfficialCount).where(OfficialCount.day.in_(days))):
        existing[(found.district_id, found.day, found.until_minute)] = found
    for city in session.scalars(select(OfficialCityCount).where(OfficialCityCount.day.in_(days))):
        existing[(None, city.day, city.until_minute)] = city
    new_rows: list[tuple[object, ...]] = []
    replaced = unchanged = added_city = 0
    for key, row in accepted.items():
        current = existing.get(key)
        if current is None and row.district_id is None:
            session.add(
                OfficialCityCount(
                    day=row.day,
                    until_minute=row.until_minute,
                    **{name: row.figures[name] for name in OFFICIAL_METRICS},
                    source=source_name[:200],
                    imported_by=principal.username,
                    imported_at=now,
                )
            )
            added_city += 1
        elif current is None:
            new_rows.append(
                (
                    row.district_id,
                    row.day,
                    row.until_minute,
                    *(row.figures[name] for name in OFFICIAL_METRICS),
                    source_name[:200],
                    principal.username,
                    now,
                )
            )
        elif all(getattr(current, name) == row.figures[name] for name in OFFICIAL_METRICS):
            unchanged += 1
        else:
            if isinstance(current, OfficialCount):
                # What stood until now, kept so the counts can be read as they stood then.
                session.add(_version_of(current, replaced_at=now))
            for name in OFFICIAL_METRICS:
                setattr(current, name, row.figures[name])
            current.source = source_name[:200]
            current.imported_by = principal.username
            current.imported_at = now
            replaced += 1
    session.flush()
    added = added_city + bulk_insert(
        session,
        OfficialCount.__table__,  # type: ignore[arg-type]
        [
            "district_id",
            "day",
            "until_minute",
            *OFFICIAL_METRICS,
            "source",
            "imported_by",
            "imported_at",
        ],
        new_rows,
    )
    imported_days = sorted(days)
    if added or replaced:
        # The figures every dashboard reads changed: each district's and the command centre's
        # open pages fetch them again.
        outbox.enqueue(
            session,
            topic=OFFICIAL_IMPORTED,
            payload={
                "days": imported_days,
                "added": added,
                "replaced": replaced,
                "actor": principal.username,
            },
            audience_district_ids=[*sorted(areas_service.district_code_by_id(session)), None],
            idempotency_key=f"analytics:official_imported:{principal.username}:{now.isoformat()}",
            now=now,
        )
    return OfficialImportReport(
        rows_read=rows_read,
        rows_rejected=len(rejected_lines),
        added=added,
        replaced=replaced,
        unchanged=unchanged,
        days=imported_days,
        rejects_file=str(rejects_path) if rejects is not None and rejects.count else None,
    )


def list_official_counts(
    session: Session, *, wanted: DistrictDays, limit: int = 50, offset: int = 0
) -> tuple[list[OfficialCount], int]:
    """Imported official counts, newest day first."""
    return list_rows(
        session,
        OfficialCount,
        wanted=wanted,
        order_by=[
            OfficialCount.day.desc(),
            OfficialCount.until_minute.desc(),
            OfficialCount.district_id,
        ],
        limit=limit,
        offset=offset,
    )


def official_counts_for_period(
    session: Session, *, day: date, until_minute: int
) -> dict[int, OfficialCount]:
    """District id → official count of `day` up to `until_minute` (empty when none imported)."""
    return {
        row.district_id: row
        for row in session.scalars(
            select(OfficialCount).where(
                OfficialCount.day == day, OfficialCount.until_minute == until_minute
            )
        )
    }


def official_city_count_for_period(
    session: Session, *, day: date, until_minute: int
) -> OfficialCityCount | None:
    """The city-wide row published for `day` up to `until_minute`, if one was imported."""
    return session.scalar(
        select(OfficialCityCount).where(
            OfficialCityCount.day == day, OfficialCityCount.until_minute == until_minute
        )
    )


def format_until(until_minute: int) -> str:
    return f"{until_minute // 60:02d}:{until_minute % 60:02d}"


@dataclass(frozen=True)
class _Units:
    """Every name of every district (to its id) and of the city, as an import reads them."""

    names: NameLookup
    id_of_code: dict[str, int]

    def find(self, name: str) -> tuple[bool, int | None, str | None]:
        """(found, district id or None for the city, error)."""
        code = self.names.find(name)
        if code == CITY:
            return True, None, None
        if code is not None:
            return True, self.id_of_code[code], None
        shared = self.names.is_ambiguous(name)
        if shared:
            return False, None, f"names more than one unit ({', '.join(shared)}): use the code"
        return False, None, "unknown district"


def _district_lookup(session: Session) -> _Units:
    districts = areas_service.list_districts(session)
    names = name_lookup(districts)
    codes = dict(names.codes)
    for key in name_keys(chongqing()) | {fold(word) for word in CITY_WORDS}:
        codes.setdefault(key, CITY)
    return _Units(
        names=NameLookup(codes=codes, ambiguous=names.ambiguous),
        id_of_code={d.code: d.id for d in districts},
    )


def _check_official_row(
    line: int, record: dict[str, str], lookup: _Units
) -> tuple[_OfficialRow | None, list[RowError]]:
    where = f"line {line}"
    if "__width__" in record:
        return None, [RowError(where, "record", record["__width__"])]
    errors: list[RowError] = []
    found, district_id, problem = lookup.find(record.get("district", ""))
    if not found:
        errors.append(RowError(where, "district", problem or "unknown", record.get("district")))
    day: date | None = None
    try:
        day = date.fromisoformat(record.get("day", ""))
    except ValueError:
        errors.append(RowError(where, "day", "not a date (YYYY-MM-DD)", record.get("day")))
    until_minute = WHOLE_DAY_MINUTES
    until = record.get("until", "")
    if until:
        match = _UNTIL.match(until)
        minute = int(match.group(1)) * 60 + int(match.group(2)) if match else -1
        if match is None or int(match.group(2)) >= 60 or not 0 < minute <= WHOLE_DAY_MINUTES:
            errors.append(RowError(where, "until", "not a time of day 00:01..24:00", until))
        else:
            until_minute = minute
    figures: dict[str, int | None] = {}
    for name in OFFICIAL_METRICS:
        text = record.get(name, "")
        if not text:
            if name in OFFICIAL_REQUIRED:
                errors.append(RowError(where, name, "required value is empty"))
            figures[name] = 0 if name == "conversions" else None
            continue
        if not text.isdigit():
            errors.append(RowError(where, name, "not a whole number >= 0", text))
            figures[name] = None
            continue
        figures[name] = int(text)
    errors.extend(_check_official_figures(where, figures))
    if errors or not found or day is None:
        return None, errors
    return _OfficialRow(line, district_id, day, until_minute, figures), errors


def _check_official_figures(where: str, figures: dict[str, int | None]) -> list[RowError]:
    confirmed, asymptomatic = figures["new_confirmed"], figures["new_asymptomatic"]
    conversions = figures["conversions"]
    if confirmed is None or asymptomatic is None:
        return []
    errors = []
    if conversions is not None and conversions > confirmed:
        errors.append(
            RowError(
                where,
                "conversions",
                f"exceeds new_confirmed ({confirmed}): a conversion is a new confirmed case",
                str(conversions),
            )
        )
    reported = confirmed + asymptomatic
    under, surface = figures["found_under_control"], figures["found_on_surface"]
    if under is not None and surface is not None and under + surface != reported:
        errors.append(
            RowError(
                where,
                "found_on_surface",
                f"found_under_control + found_on_surface must equal new_confirmed + "
                f"new_asymptomatic ({reported})",
                str(surface),
            )
        )
    for name, value in (("found_under_control", under), ("found_on_surface", surface)):
        if value is not None and value > reported:
            errors.append(
                RowError(where, name, f"exceeds new_confirmed + new_asymptomatic ({reported})")
            )
    return errors


def _version_of(row: OfficialCount, *, replaced_at: datetime) -> OfficialCountVersion:
    return OfficialCountVersion(
        district_id=row.district_id,
        day=row.day,
        until_minute=row.until_minute,
        **{name: getattr(row, name) for name in OFFICIAL_METRICS},
        source=row.source,
        imported_by=row.imported_by,
        imported_at=row.imported_at,
        replaced_at=replaced_at,
    )
