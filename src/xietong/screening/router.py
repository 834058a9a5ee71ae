"""Routes of mass screening: sites, tubes, conflicts, tasks and coverage, each scoped to the
caller's jurisdiction. The plan and the results, which span domains, are routed by
`flows.router`."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, UploadFile, status

from xietong.api.deps import (
    ActingDep,
    LoadValidQuery,
    NowDep,
    PageDep,
    PrincipalDep,
    RawBody,
    SessionDep,
    TodayDep,
    load_upload,
    parse_body,
)
from xietong.core.bodies import documented_body
from xietong.core.pagination import Page
from xietong.screening import service
from xietong.screening.schemas import (
    ConflictRead,
    ConflictResolution,
    ConflictResolve,
    CoverageRead,
    ResampleTaskRead,
    RetestTaskRead,
    SiteCreate,
    SiteRead,
    TubeBatch,
    TubeBatchReport,
    TubeRead,
)

router = APIRouter(prefix="/api/screening", tags=["screening"])

TaskStatus = Literal["open", "done", "cancelled"]


@router.get("/sites", summary="Sampling sites in your jurisdiction")
def list_sites(session: SessionDep, principal: PrincipalDep) -> list[SiteRead]:
    return service.list_sites(session, principal=principal)


@router.post("/sites", status_code=status.HTTP_201_CREATED, summary="Register a sampling site")
def create_site(
    now: NowDep, site_in: SiteCreate, session: SessionDep, principal: PrincipalDep
) -> SiteRead:
    return service.create_site(session, principal=principal, site_in=site_in, now=now)


@router.post(
    "/tubes",
    summary="Register tubes and their members (all or nothing)",
    openapi_extra=documented_body(TubeBatch),
)
def register_tubes(body: RawBody, acting: ActingDep) -> TubeBatchReport:
    # Parsed here, in the thread pool, not by FastAPI on the event loop the live streams share.
    return service.register_tubes(
        acting.session,
        principal=acting.principal,
        batch=parse_body(TubeBatch, body),
        tz=acting.settings.timezone,
        now=acting.now,
        protector=acting.protector,
    )


@router.post("/tubes/import", summary="Register tubes from a CSV file, one row per swab")
def import_tubes(
    file: UploadFile, acting: ActingDep, load_valid: LoadValidQuery = False
) -> TubeBatchReport:
    return load_upload(
        acting,
        file,
        service.register_tubes_file,
        protector=acting.protector,
        load_valid=load_valid,
        expected_rows=(file.size or 0) // 60,
    )


@router.get("/tubes/{code}", summary="A tube and its result of record")
def get_tube(code: str, session: SessionDep, principal: PrincipalDep) -> TubeRead:
    return service.get_tube(session, principal=principal, code=code)


@router.get("/conflicts", summary="Differing second results waiting for a decision")
def list_conflicts(
    paging: PageDep,
    session: SessionDep,
    principal: PrincipalDep,
    status_: Annotated[Literal["open", "kept", "replaced"] | None, Query(alias="status")] = "open",
) -> Page[ConflictRead]:
    items, total = service.list_conflicts(
        session, principal=principal, status=status_, limit=paging.limit, offset=paging.offset
    )
    return Page.of(items, total=total, params=paging)


@router.post("/conflicts/{conflict_id}/resolve", summary="Keep one of two differing results")
def resolve_conflict(
    now: NowDep,
    conflict_id: int,
    decision: ConflictResolve,
    session: SessionDep,
    principal: PrincipalDep,
) -> ConflictResolution:
    return service.resolve_conflict(
        session, principal=principal, conflict_id=conflict_id, decision=decision, now=now
    )


@router.get("/resample-tasks", summary="Invalid tubes to swab again, in your jurisdiction")
def list_resample_tasks(
    paging: PageDep,
    session: SessionDep,
    principal: PrincipalDep,
    status_: Annotated[TaskStatus | None, Query(alias="status")] = "open",
) -> Page[ResampleTaskRead]:
    items, total = service.list_resample_tasks(
        session, principal=principal, status=status_, limit=paging.limit, offset=paging.offset
    )
    return Page.of(items, total=total, params=paging)


@router.get("/retests", summary="Single-tube retests due where the persons are now (audited)")
def list_retests(
    paging: PageDep,
    session: SessionDep,
    principal: PrincipalDep,
    status_: Annotated[TaskStatus | None, Query(alias="status")] = "open",
) -> Page[RetestTaskRead]:
    items, total = service.list_retest_tasks(
        session, principal=principal, status=status_, limit=paging.limit, offset=paging.offset
    )
    return Page.of(items, total=total, params=paging)


@router.get("/coverage", summary="Planned, sampled, resulted, missed and positivity of a round")
def get_coverage(
    today: TodayDep,
    session: SessionDep,
    principal: PrincipalDep,
    day: Annotated[
        date | None, Query(alias="date", description="The round's day; today by default.")
    ] = None,
    district: str | None = None,
) -> CoverageRead:
    return service.coverage(session, principal=principal, day=day or today, district_code=district)
