"""Routes of resources: facilities and laboratories, and their capacity reports. Thin: parse, call
the service, shape the answer. Mutual aid's routes share the `/api/resources` prefix
(`mutual_aid/router.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, UploadFile, status

from xietong.api.deps import NowDep, PageDep, PrincipalDep, SessionDep, SettingsDep, uploaded_csv
from xietong.core.clock import local_day
from xietong.core.pagination import Page
from xietong.resources import service
from xietong.resources.schemas import (
    CapacityImportReport,
    CapacityReportBatch,
    CapacityReportRead,
    FacilityRead,
    LaboratoryRead,
)

router = APIRouter(prefix="/api/resources", tags=["resources"])


# --- capacity ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DistrictOnDay:
    """Which places a list asks for: one district's (all when None), as they stand on one day."""

    district_id: int | None
    day: date


def _district_on_day(
    now: NowDep,
    session: SessionDep,
    settings: SettingsDep,
    district: str | None = None,
    day: date | None = None,
) -> DistrictOnDay:
    """`?district=&day=`, the day being today where none is given."""
    return DistrictOnDay(
        district_id=service.district_id_of(session, district),
        day=day or local_day(now, settings.timezone),
    )


DistrictOnDayDep = Annotated[DistrictOnDay, Depends(_district_on_day)]


@router.get("/facilities", summary="Quarantine sites, makeshift hospitals, home isolation")
def list_facilities(
    session: SessionDep, _principal: PrincipalDep, where: DistrictOnDayDep
) -> list[FacilityRead]:
    return service.list_facilities(session, district_id=where.district_id, day=where.day)


@router.get("/laboratories", summary="Laboratories and their tubes per day")
def list_laboratories(
    session: SessionDep, _principal: PrincipalDep, where: DistrictOnDayDep
) -> list[LaboratoryRead]:
    return service.list_laboratories(session, district_id=where.district_id, day=where.day)


@router.post(
    "/capacity",
    status_code=status.HTTP_201_CREATED,
    summary="Report capacity changes (all or nothing; every bad report named)",
)
def report_capacity(
    now: NowDep, batch: CapacityReportBatch, session: SessionDep, principal: PrincipalDep
) -> list[CapacityReportRead]:
    return service.report_capacity(session, principal=principal, reports=batch.reports, now=now)


@router.post("/capacity/import", summary="Import capacity reports from CSV (all or nothing)")
def import_capacity(
    now: NowDep,
    file: UploadFile,
    session: SessionDep,
    principal: PrincipalDep,
    load_valid: bool = False,
) -> CapacityImportReport:
    text = uploaded_csv(file)
    return service.import_capacity(
        session, principal=principal, stream=text, load_valid=load_valid, now=now
    )


@router.get("/capacity/history", summary="Capacity reports, newest first")
def capacity_history(
    paging: PageDep,
    session: SessionDep,
    _principal: PrincipalDep,
    district: str | None = None,
    code: str | None = None,
) -> Page[CapacityReportRead]:
    items, total = service.list_capacity_reports(
        session,
        district_id=service.district_id_of(session, district),
        code=code,
        limit=paging.limit,
        offset=paging.offset,
    )
    return Page.of(items, total=total, params=paging)
