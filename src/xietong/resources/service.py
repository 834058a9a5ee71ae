"""Capacity of quarantine places and laboratories, per place, district and day.

Districts report capacity (one report, a batch, or a CSV file, all or nothing with every bad row
named); the capacity on a day is the latest report covering it, else the standing capacity.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TextIO, TypeVar

import numpy as np
import numpy.typing as npt
from pydantic import ValidationError
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from xietong.areas import service as areas_service
from xietong.core.csvfiles import read_records
from xietong.core.errors import NotFound, PermissionDenied, RowError, ValidationFailed
from xietong.core.principal import Principal, Role
from xietong.resources.models import FACILITY_KINDS, CapacityReport, Facility, Laboratory
from xietong.resources.schemas import (
    CapacityImportReport,
    CapacityReportIn,
    CapacityReportRead,
    FacilityRead,
    LaboratoryRead,
)
from xietong.resources.vocabulary import LAB_TUBE, RESOURCE_OF_FACILITY_KIND, RESOURCES
from xietong.storage.bulk import bulk_insert

FloatArray = npt.NDArray[np.float64]

CAPACITY_COLUMNS = [
    "district_code",
    "code",
    "kind",
    "name",
    "capacity",
    "first_day",
    "last_day",
    "note",
]


# --- who may do what -----------------------------------------------------------------------------


def require_command(principal: Principal, action: str) -> None:
    """Refuse anyone but the command centre."""
    if principal.role is not Role.command:
        raise PermissionDenied(f"only the command centre may {action}", code="command_only")


def acting_district(principal: Principal, district_id: int, *, action: str) -> None:
    """Refuse a district user acting for another district, and roles without a part in it."""
    if principal.role is Role.command:
        return
    if principal.role not in (Role.district_coordinator, Role.lab):
        raise PermissionDenied(f"role {principal.role} may not {action}")
    if principal.district_id != district_id:
        raise PermissionDenied(f"a district user may {action} only for its own district")


# --- capacity reports ----------------------------------------------------------------------------


@dataclass
class _Places:
    facilities: dict[str, Facility]
    laboratories: dict[str, Laboratory]

    @classmethod
    def load(cls, session: Session) -> _Places:
        return cls(
            facilities={f.code: f for f in session.scalars(select(Facility))},
            laboratories={lab.code: lab for lab in session.scalars(select(Laboratory))},
        )


def _check_report(
    report: CapacityReportIn,
    *,
    where: str,
    principal: Principal,
    district_ids: Mapping[str, int],
    places: _Places,
    pending: dict[str, tuple[str, str]],
) -> list[RowError]:
    codes = {id_: code for code, id_ in district_ids.items()}
    errors = []
    district_id = district_ids.get(report.district_code)
    if district_id is None:
        errors.append(RowError(where, "district_code", "unknown district", report.district_code))
    elif principal.role is not Role.command and principal.district_id != district_id:
        errors.append(RowError(where, "district_code", "you may report only for your own district"))
    if principal.role is Role.lab and report.kind != "laboratory":
        errors.append(RowError(where, "kind", "a laboratory reports only laboratories"))
    if principal.role not in (Role.command, Role.district_coordinator, Role.lab):
        errors.append(RowError(where, "kind", f"role {principal.role} may not report capacity"))
    known: tuple[str, str] | None = None
    if report.code in places.facilities:
        facility = places.facilities[report.code]
        known = (facility.kind, codes[facility.district_id])
    elif report.code in places.laboratories:
        lab = places.laboratories[report.code]
        known = ("laboratory", codes[lab.district_id])
    else:
        known = pending.get(report.code)
    if known is None:
        if not report.name:
            errors.append(RowError(where, "name", "a new place needs a name"))
        elif not errors:
            # Later rows of the same file may report on the place this row registers.
            pending[report.code] = (report.kind, report.district_code)
    else:
        kind, district_code = known
        if kind != report.kind:
            errors.append(RowError(where, "kind", f"{report.code} is a {kind}", report.kind))
        if district_code != report.district_code:
            errors.append(
                RowError(
                    where, "district_code", f"{report.code} is in {district_code}", district_code
                )
            )
    return errors


def report_capacity(
    session: Session,
    *,
    principal: Principal,
    reports: Sequence[CapacityReportIn],
    source: str = "api",
    now: datetime,
) -> list[CapacityReportRead]:
    """Record capacity reports (all or nothing); register places not seen before."""
    district_ids = areas_service.district_id_by_code(session)
    places = _Places.load(session)
    pending: dict[str, tuple[str, str]] = {}
    errors: list[RowError] = []
    for index, report in enumerate(reports, start=1):
        errors += _check_report(
            report,
            where=f"report {index}",
            principal=principal,
            district_ids=district_ids,
            places=places,
            pending=pending,
        )
    if errors:
        raise ValidationFailed(errors=errors, summary="capacity reports refused; nothing written")
    rows = _apply_reports(
        session,
        principal=principal,
        reports=reports,
        source=source,
        now=now,
        district_ids=district_ids,
        places=places,
    )
    return [_report_read(row, report) for row, report in zip(rows, reports, strict=True)]


def import_capacity(
    session: Session,
    *,
    principal: Principal,
    stream: TextIO,
    load_valid: bool = False,
    now: datetime,
) -> CapacityImportReport:
    """Import capacity reports from CSV: the whole file or nothing unless `load_valid`."""
    district_ids = areas_service.district_id_by_code(session)
    places = _Places.load(session)
    pending: dict[str, tuple[str, str]] = {}
    errors: list[RowError] = []
    valid: list[CapacityReportIn] = []
    rows_read = 0
    rejected_lines: set[str] = set()
    for line, record in read_records(
        stream, required=CAPACITY_COLUMNS[:5], optional=CAPACITY_COLUMNS[5:]
    ):
        rows_read += 1
        where = f"line {line}"
        if "__width__" in record:
            errors.append(RowError(where, "record", record["__width__"]))
            rejected_lines.add(where)
            continue
        try:
            report = CapacityReportIn.model_validate(
                {key: value for key, value in record.items() if value != ""}
            )
        except ValidationError as exc:
            for problem in exc.errors():
                field = ".".join(str(p) for p in problem["loc"]) or "record"
                value = record.get(field)
                errors.append(RowError(where, field, problem["msg"], value))
            rejected_lines.add(where)
            continue
        row_errors = _check_report(
            report,
            where=where,
            principal=principal,
            district_ids=district_ids,
            places=places,
            pending=pending,
        )
        if row_errors:
            errors += row_errors
            rejected_lines.add(where)
            continue
        valid.append(report)
    if errors and not load_valid:
        raise ValidationFailed(errors=errors, summary="capacity file refused; nothing was written")
    facilities_before, labs_before = len(places.facilities), len(places.laboratories)
    _apply_reports(
        session,
        principal=principal,
        reports=valid,
        source="csv",
        now=now,
        district_ids=district_ids,
        places=places,
    )
    return CapacityImportReport(
        rows_read=rows_read,
        rows_rejected=len(rejected_lines),
        reports_added=len(valid),
        facilities_added=len(places.facilities) - facilities_before,
        laboratories_added=len(places.laboratories) - labs_before,
    )


def _apply_reports(
    session: Session,
    *,
    principal: Principal,
    reports: Sequence[CapacityReportIn],
    source: str,
    now: datetime,
    district_ids: Mapping[str, int],
    places: _Places,
) -> list[CapacityReport]:
    rows = []
    for report in reports:
        district_id = district_ids[report.district_code]
        facility_id = laboratory_id = None
        if report.kind == "laboratory":
            laboratory_id, previous = _laboratory_reported(
                session, report, district_id=district_id, now=now, known=places.laboratories
            )
        else:
            facility_id, previous = _facility_reported(
                session, report, district_id=district_id, now=now, known=places.facilities
            )
        rows.append(
            CapacityReport(
                facility_id=facility_id,
                laboratory_id=laboratory_id,
                district_id=district_id,
                capacity=report.capacity,
                previous_capacity=previous,
                first_day=report.first_day,
                last_day=report.last_day,
                note=report.note,
                source=source,
                reported_by=principal.username,
                created_at=now,
            )
        )
    _insert_reports(session, rows)
    return rows


def _laboratory_reported(
    session: Session,
    report: CapacityReportIn,
    *,
    district_id: int,
    now: datetime,
    known: dict[str, Laboratory],
) -> tuple[int, int | None]:
    """The laboratory a report is about (added when new) and its standing capacity before; a
    report for given days leaves the standing capacity as it is."""
    dated = report.first_day is not None
    lab = known.get(report.code)
    if lab is not None:
        previous = lab.tubes_per_day
        if not dated:
            lab.tubes_per_day = report.capacity
        lab.updated_at = now
        return lab.id, previous
    # A laboratory opening on a later day has no standing capacity before it.
    lab = Laboratory(
        code=report.code,
        name=report.name or report.code,
        district_id=district_id,
        tubes_per_day=0 if dated else report.capacity,
        active=True,
        updated_at=now,
    )
    session.add(lab)
    session.flush()
    known[lab.code] = lab
    return lab.id, None


def _facility_reported(
    session: Session,
    report: CapacityReportIn,
    *,
    district_id: int,
    now: datetime,
    known: dict[str, Facility],
) -> tuple[int, int | None]:
    """The facility a report is about (added when new) and its standing beds before; a report
    for given days leaves the standing beds as they are."""
    facility = known.get(report.code)
    if facility is not None:
        previous = facility.beds
        if report.first_day is None:
            facility.beds = report.capacity
        facility.updated_at = now
        return facility.id, previous
    # A new site is available on the report's days (or from now on).
    facility = Facility(
        code=report.code,
        name=report.name or report.code,
        district_id=district_id,
        kind=report.kind,
        beds=report.capacity,
        available_from=report.first_day,
        available_to=report.last_day,
        active=True,
        updated_at=now,
    )
    session.add(facility)
    session.flush()
    known[facility.code] = facility
    return facility.id, None


# A capacity report written in bulk: every column but its key.
_REPORT_COLUMNS = [c.name for c in CapacityReport.__table__.columns if not c.primary_key]


def _insert_reports(session: Session, rows: Sequence[CapacityReport]) -> None:
    if len(rows) > 100:
        # A file of reports goes in one set-based insert; the API's few rows keep their ids.
        bulk_insert(
            session,
            CapacityReport.__table__,  # type: ignore[arg-type]
            _REPORT_COLUMNS,
            (tuple(getattr(r, column) for column in _REPORT_COLUMNS) for r in rows),
        )
        return
    session.add_all(rows)
    session.flush()


def _report_read(row: CapacityReport, report: CapacityReportIn) -> CapacityReportRead:
    return capacity_report_read(
        row, code=report.code, kind=report.kind, district_code=report.district_code
    )


def capacity_report_read(
    row: CapacityReport, *, code: str, kind: str, district_code: str
) -> CapacityReportRead:
    """A capacity report as read, with the codes of its place and district."""
    return CapacityReportRead(
        id=row.id,
        code=code,
        kind=kind,
        district_code=district_code,
        capacity=row.capacity,
        previous_capacity=row.previous_capacity,
        first_day=row.first_day,
        last_day=row.last_day,
        note=row.note,
        source=row.source,
        reported_by=row.reported_by,
        created_at=row.created_at,
    )


def list_capacity_reports(
    session: Session,
    *,
    district_id: int | None,
    code: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[CapacityReportRead], int]:
    """The history of capacity reports, newest first."""
    query = (
        select(CapacityReport, Facility.code, Facility.kind, Laboratory.code)
        .outerjoin(Facility, Facility.id == CapacityReport.facility_id)
        .outerjoin(Laboratory, Laboratory.id == CapacityReport.laboratory_id)
    )
    if district_id is not None:
        query = query.where(CapacityReport.district_id == district_id)
    if code is not None:
        query = query.where(or_(Facility.code == code, Laboratory.code == code))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    codes = areas_service.district_code_by_id(session)
    items = []
    for row, facility_code, kind, lab_code in session.execute(
        query.order_by(CapacityReport.id.desc()).limit(limit).offset(offset)
    ):
        items.append(
            capacity_report_read(
                row,
                code=facility_code or lab_code,
                kind=kind or "laboratory",
                district_code=codes[row.district_id],
            )
        )
    return items, total


# --- capacity on each day ------------------------------------------------------------------------


@dataclass(frozen=True)
class PlaceCapacity:
    """One facility or laboratory and its capacity on each of the days asked."""

    code: str
    resource: str
    district_id: int
    per_day: FloatArray


def place_capacities(
    session: Session, *, days: Sequence[date], district_id: int | None = None
) -> list[PlaceCapacity]:
    """Every place's capacity on each of `days`: the latest report covering the day, else the
    standing capacity; none while inactive or outside a site's availability."""
    first, last = min(days), max(days)
    offsets = np.array([(day - first).days for day in days])
    facilities = select(Facility)
    labs = select(Laboratory)
    reports = select(CapacityReport).where(
        or_(
            CapacityReport.first_day.is_(None),
            and_(
                CapacityReport.first_day <= last,
                or_(CapacityReport.last_day.is_(None), CapacityReport.last_day >= first),
            ),
        )
    )
    if district_id is not None:
        facilities = facilities.where(Facility.district_id == district_id)
        labs = labs.where(Laboratory.district_id == district_id)
        reports = reports.where(CapacityReport.district_id == district_id)
    by_place: dict[tuple[str, int], list[CapacityReport]] = {}
    for report in session.scalars(reports.order_by(CapacityReport.id)):
        key = ("f", report.facility_id) if report.facility_id else ("l", report.laboratory_id)
        by_place.setdefault((key[0], int(key[1] or 0)), []).append(report)
    span = (last - first).days + 1
    places = []
    for facility in session.scalars(facilities):
        values = _per_day(facility.beds, by_place.get(("f", facility.id), []), first, span)
        if facility.available_from is not None:
            values[: max(0, min(span, (facility.available_from - first).days))] = 0
        if facility.available_to is not None:
            values[max(0, (facility.available_to - first).days + 1) :] = 0
        if not facility.active:
            values[:] = 0
        places.append(
            PlaceCapacity(
                code=facility.code,
                resource=RESOURCE_OF_FACILITY_KIND[facility.kind],
                district_id=facility.district_id,
                per_day=values[offsets],
            )
        )
    for lab in session.scalars(labs):
        values = _per_day(lab.tubes_per_day, by_place.get(("l", lab.id), []), first, span)
        if not lab.active:
            values[:] = 0
        places.append(
            PlaceCapacity(
                code=lab.code,
                resource=LAB_TUBE,
                district_id=lab.district_id,
                per_day=values[offsets],
            )
        )
    return places


def _per_day(standing: int, reports: list[CapacityReport], first: date, span: int) -> FloatArray:
    values = np.full(span, float(standing))
    # The standing value already holds the latest undated report; windows after it override.
    latest_undated = max((r.id for r in reports if r.first_day is None), default=0)
    for report in reports:
        if report.first_day is None or report.id < latest_undated:
            continue
        start = max(0, (report.first_day - first).days)
        stop = span if report.last_day is None else min(span, (report.last_day - first).days + 1)
        if start < stop:
            values[start:stop] = report.capacity
    return values


def capacity_by_district(
    session: Session, *, days: Sequence[date], district_ids: Sequence[int]
) -> dict[str, FloatArray]:
    """Capacity per resource, shape (districts, days), districts in the order given."""
    index = {district_id: i for i, district_id in enumerate(district_ids)}
    cube = {resource: np.zeros((len(district_ids), len(days))) for resource in RESOURCES}
    for place in place_capacities(session, days=days):
        row = index.get(place.district_id)
        if row is not None:
            cube[place.resource][row] += place.per_day
    return cube


# A facility or a laboratory: both are listed by code, one district at a time if asked.
_Place = TypeVar("_Place", Facility, Laboratory)


def _capacity_on_day(session: Session, *, district_id: int | None, day: date) -> dict[str, int]:
    """Each place's capacity on `day` by its code (of one district if given)."""
    return {
        p.code: int(p.per_day[0])
        for p in place_capacities(session, days=[day], district_id=district_id)
    }


def _places(session: Session, model: type[_Place], *, district_id: int | None) -> Sequence[_Place]:
    query = select(model).order_by(model.code)
    if district_id is not None:
        query = query.where(model.district_id == district_id)
    return session.scalars(query).all()


def list_facilities(session: Session, *, district_id: int | None, day: date) -> list[FacilityRead]:
    capacities = _capacity_on_day(session, district_id=district_id, day=day)
    codes = areas_service.district_code_by_id(session)
    return [
        FacilityRead(
            code=f.code,
            name=f.name,
            kind=f.kind,
            district_code=codes[f.district_id],
            beds=f.beds,
            available_from=f.available_from,
            available_to=f.available_to,
            active=f.active,
            beds_on_day=capacities.get(f.code, 0),
            day=day,
        )
        for f in _places(session, Facility, district_id=district_id)
        if f.kind in FACILITY_KINDS
    ]


def list_laboratories(
    session: Session, *, district_id: int | None, day: date
) -> list[LaboratoryRead]:
    capacities = _capacity_on_day(session, district_id=district_id, day=day)
    codes = areas_service.district_code_by_id(session)
    return [
        LaboratoryRead(
            code=lab.code,
            name=lab.name,
            district_code=codes[lab.district_id],
            tubes_per_day=lab.tubes_per_day,
            active=lab.active,
            tubes_on_day=capacities.get(lab.code, 0),
            day=day,
        )
        for lab in _places(session, Laboratory, district_id=district_id)
    ]


def district_id_of(session: Session, code: str | None) -> int | None:
    """The id of a district code (None for None); NotFound for an unknown code."""
    if code is None:
        return None
    district_id = areas_service.district_id_by_code(session).get(code)
    if district_id is None:
        raise NotFound(f"no district with code {code!r}", code="district_not_found")
    return district_id
