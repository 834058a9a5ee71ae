"""Routes of persons: every read is scoped to the caller's jurisdiction and audited."""

from __future__ import annotations

from fastapi import APIRouter, UploadFile, status

from xietong.api.deps import (
    LoadValidQuery,
    NowDep,
    PageDep,
    PrincipalDep,
    ProtectorDep,
    SessionDep,
    uploaded_csv,
)
from xietong.core.pagination import Page
from xietong.people import duplicates, service
from xietong.people.schemas import (
    DuplicateDismiss,
    DuplicateFindReport,
    DuplicatePairRead,
    PersonCreate,
    PersonImportReport,
    PersonRead,
    PersonSummary,
)

router = APIRouter(prefix="/api/people", tags=["people"])


@router.post("", status_code=status.HTTP_201_CREATED, summary="Register a person")
def create_person(
    person_in: PersonCreate,
    session: SessionDep,
    principal: PrincipalDep,
    protector: ProtectorDep,
) -> PersonRead:
    person = service.create_person(
        session, principal=principal, protector=protector, person_in=person_in
    )
    read = service.to_read(session, person, protector)
    read.warnings = service.registration_warnings(session, person_in=person_in, person=person)
    return read


@router.get("", summary="Persons in your jurisdiction, paginated (no names)")
def list_persons(
    paging: PageDep,
    session: SessionDep,
    principal: PrincipalDep,
    district: str | None = None,
) -> Page[PersonSummary]:
    items, total = service.list_persons(
        session,
        principal=principal,
        district_code=district,
        limit=paging.limit,
        offset=paging.offset,
    )
    return Page.of(items, total=total, params=paging)


# Declared before `/{person_id}`, which would otherwise take "duplicates" for an id.
@router.get("/duplicates", summary="Possible duplicate persons in your jurisdiction (audited)")
def list_duplicates(
    paging: PageDep,
    session: SessionDep,
    principal: PrincipalDep,
    protector: ProtectorDep,
    status: str = "open",
) -> Page[DuplicatePairRead]:
    items, total = duplicates.list_pairs(
        session,
        principal=principal,
        protector=protector,
        status=status,
        limit=paging.limit,
        offset=paging.offset,
    )
    return Page.of(items, total=total, params=paging)


@router.post("/duplicates/find", summary="Propose the new possible duplicates in your jurisdiction")
def find_duplicates(
    now: NowDep, session: SessionDep, principal: PrincipalDep
) -> DuplicateFindReport:
    return duplicates.find_duplicates(session, principal=principal, now=now)


@router.post("/duplicates/{pair_id}/dismiss", summary="Not the same person: never proposed again")
def dismiss_duplicate(
    now: NowDep,
    pair_id: int,
    dismiss_in: DuplicateDismiss,
    session: SessionDep,
    principal: PrincipalDep,
    protector: ProtectorDep,
) -> DuplicatePairRead:
    pair = duplicates.dismiss(
        session, principal=principal, pair_id=pair_id, note=dismiss_in.note, now=now
    )
    return duplicates.pair_reads(session, principal=principal, protector=protector, pairs=[pair])[0]


@router.get("/{person_id}", summary="One person (audited; 404 outside your jurisdiction)")
def get_person(
    person_id: int,
    session: SessionDep,
    principal: PrincipalDep,
    protector: ProtectorDep,
    reason: str | None = None,
) -> PersonRead:
    person = service.get_person(session, principal=principal, person_id=person_id, reason=reason)
    return service.to_read(session, person, protector)


@router.post("/import", summary="Import persons from a CSV file (all or nothing)")
def import_persons(
    file: UploadFile,
    session: SessionDep,
    principal: PrincipalDep,
    protector: ProtectorDep,
    load_valid: LoadValidQuery = False,
) -> PersonImportReport:
    text = uploaded_csv(file)
    return service.import_persons(
        session,
        principal=principal,
        protector=protector,
        stream=text,
        source_name=file.filename or "upload",
        load_valid=load_valid,
    )
