"""Routes of mass screening: plans, sites, tubes, results (through the intake flow), conflicts,
tasks and coverage, each scoped to the caller's jurisdiction."""

from __future__ import annotations

import io
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, UploadFile, status
from pydantic import BaseModel, Field

from xietong.areas import service as areas_service
from xietong.auth.dependencies import PrincipalDep, ProtectorDep, SettingsDep
from xietong.core.clock import local_day, utcnow
from xietong.core.pagination import Page
from xietong.flows import intake, screening
from xietong.screening import service
from xietong.screening.schemas import (
    ConflictRead,
    ConflictResolution,
    ConflictResolve,
    CoverageRead,
    LabResultBatch,
    PlanRead,
    ResampleTaskRead,
    RetestTaskRead,
    SiteCreate,
    SiteRead,
    TubeBatch,
    TubeBatchReport,
    TubeRead,
)
from xietong.storage.dependencies import SessionDep

router = APIRouter(prefix="/api/screening", tags=["screening"])

Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0)]
TaskStatus = Literal["open", "done", "cancelled"]
# The CLI's --load-valid: the API answers the count of rejected rows (the CLI can also write them
# to a file); without it the file is refused whole and the error names every bad line.
LoadValid = Annotated[
    bool, Query(description="Load the valid rows even if some are bad (rows_rejected counts them).")
]


class PlanIssue(BaseModel):
    wind_down_first_rounds: dict[str, date] = Field(
        default_factory=dict,
        description="wind-down mode: district code → its first round (day after its last "
        "community case)",
    )


def _first_rounds(session: SessionDep, given: dict[str, date]) -> dict[int, date]:
    return {areas_service.get_district(session, code=code).id: day for code, day in given.items()}


@router.get("/plan", summary="The screening plan of a day (a preview until it is issued)")
def get_plan(
    session: SessionDep,
    principal: PrincipalDep,
    day: Annotated[date, Query(alias="date")],
    district: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> PlanRead:
    return screening.read_plan(
        session, principal=principal, day=day, district_code=district, limit=limit, offset=offset
    )


@router.post("/plan", summary="Issue (or re-issue) the screening plan of a day (command centre)")
def issue_plan(
    session: SessionDep,
    principal: PrincipalDep,
    day: Annotated[date, Query(alias="date")],
    body: PlanIssue | None = None,
) -> PlanRead:
    rounds = _first_rounds(session, body.wind_down_first_rounds if body else {})
    return screening.issue_plan(
        session, principal=principal, day=day, now=utcnow(), wind_down_first_rounds=rounds
    )


@router.get("/sites", summary="Sampling sites in your jurisdiction")
def list_sites(session: SessionDep, principal: PrincipalDep) -> list[SiteRead]:
    return service.list_sites(session, principal=principal)


@router.post("/sites", status_code=status.HTTP_201_CREATED, summary="Register a sampling site")
def create_site(site_in: SiteCreate, session: SessionDep, principal: PrincipalDep) -> SiteRead:
    return service.create_site(session, principal=principal, site_in=site_in, now=utcnow())


@router.post("/tubes", summary="Register tubes and their members (all or nothing)")
def register_tubes(
    batch: TubeBatch,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    protector: ProtectorDep,
) -> TubeBatchReport:
    return service.register_tubes(
        session,
        principal=principal,
        batch=batch,
        tz=settings.timezone,
        now=utcnow(),
        protector=protector,
    )


@router.post("/tubes/import", summary="Register tubes from a CSV file, one row per swab")
def import_tubes(
    file: UploadFile,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    protector: ProtectorDep,
    load_valid: LoadValid = False,
) -> TubeBatchReport:
    stream = io.TextIOWrapper(file.file, encoding="utf-8-sig", newline="")
    return service.register_tubes_file(
        session,
        principal=principal,
        stream=stream,
        source_name=file.filename or "upload",
        tz=settings.timezone,
        now=utcnow(),
        protector=protector,
        load_valid=load_valid,
        expected_rows=(file.size or 0) // 60,
    )


@router.get("/tubes/{code}", summary="A tube and its result of record")
def get_tube(code: str, session: SessionDep, principal: PrincipalDep) -> TubeRead:
    return service.get_tube(session, principal=principal, code=code)


@router.post("/results", summary="Post laboratory results (all or nothing; idempotent)")
def post_results(
    batch: LabResultBatch, session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> intake.IntakeReport:
    return intake.ingest_lab_results(
        session, principal=principal, batch=batch, tz=settings.timezone, now=utcnow()
    )


@router.post("/results/import", summary="Post laboratory results as a CSV file")
def import_results(
    file: UploadFile,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    load_valid: LoadValid = False,
) -> intake.IntakeReport:
    stream = io.TextIOWrapper(file.file, encoding="utf-8-sig", newline="")
    return intake.ingest_lab_results(
        session,
        principal=principal,
        stream=stream,
        source_name=file.filename or "upload",
        tz=settings.timezone,
        now=utcnow(),
        load_valid=load_valid,
    )


@router.get("/conflicts", summary="Differing second results waiting for a decision")
def list_conflicts(
    session: SessionDep,
    principal: PrincipalDep,
    status_: Annotated[Literal["open", "kept", "replaced"] | None, Query(alias="status")] = "open",
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[ConflictRead]:
    items, total = service.list_conflicts(
        session, principal=principal, status=status_, limit=limit, offset=offset
    )
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.post("/conflicts/{conflict_id}/resolve", summary="Keep one of two differing results")
def resolve_conflict(
    conflict_id: int, decision: ConflictResolve, session: SessionDep, principal: PrincipalDep
) -> ConflictResolution:
    return service.resolve_conflict(
        session, principal=principal, conflict_id=conflict_id, decision=decision, now=utcnow()
    )


@router.get("/resample-tasks", summary="Invalid tubes to swab again, in your jurisdiction")
def list_resample_tasks(
    session: SessionDep,
    principal: PrincipalDep,
    status_: Annotated[TaskStatus | None, Query(alias="status")] = "open",
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[ResampleTaskRead]:
    items, total = service.list_resample_tasks(
        session, principal=principal, status=status_, limit=limit, offset=offset
    )
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/retests", summary="Single-tube retests due where the persons are now (audited)")
def list_retests(
    session: SessionDep,
    principal: PrincipalDep,
    status_: Annotated[TaskStatus | None, Query(alias="status")] = "open",
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[RetestTaskRead]:
    items, total = service.list_retest_tasks(
        session, principal=principal, status=status_, limit=limit, offset=offset
    )
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/coverage", summary="Planned, sampled, resulted, missed and positivity of a round")
def get_coverage(
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    day: Annotated[
        date | None, Query(alias="date", description="The round's day; today by default.")
    ] = None,
    district: str | None = None,
) -> CoverageRead:
    when = day or local_day(utcnow(), settings.timezone)
    return service.coverage(session, principal=principal, day=when, district_code=district)
