"""Routes of the use cases that span domains: the screening plan of a day (zones' high-risk set and
screening's plan) and laboratory results in with everything they set off, under the screening
API; close contacts and line lists with the referrals they need, under the cases API; and the
merge of duplicate persons, under the people API."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, UploadFile, status
from pydantic import BaseModel, Field

from xietong.api.deps import (
    ActingDep,
    LoadValidQuery,
    LongPageDep,
    NowDep,
    PrincipalDep,
    RawBody,
    SessionDep,
    load_upload,
    parse_body,
    uploaded_csv,
)
from xietong.areas import service as areas_service
from xietong.cases.line_lists import LineListKind, LineListReport
from xietong.cases.schemas import ContactCreate, ContactIdentify, ContactRead
from xietong.core.bodies import documented_body
from xietong.flows import contacts, duplicates, intake, line_lists, screening
from xietong.people.schemas import DuplicateMerge, MergeReport
from xietong.screening.schemas import LabResultBatch, PlanRead

router = APIRouter(prefix="/api/screening", tags=["screening"])
# Contacts registered or identified open the referral they need in the same transaction.
cases_router = APIRouter(prefix="/api/cases", tags=["cases"])
# A merge of duplicate persons moves the records of every domain.
people_router = APIRouter(prefix="/api/people", tags=["people"])


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
    paging: LongPageDep,
    session: SessionDep,
    principal: PrincipalDep,
    day: Annotated[date, Query(alias="date")],
    district: str | None = None,
) -> PlanRead:
    return screening.read_plan(
        session,
        principal=principal,
        day=day,
        district_code=district,
        limit=paging.limit,
        offset=paging.offset,
    )


@router.post("/plan", summary="Issue (or re-issue) the screening plan of a day (command centre)")
def issue_plan(
    now: NowDep,
    session: SessionDep,
    principal: PrincipalDep,
    day: Annotated[date, Query(alias="date")],
    body: PlanIssue | None = None,
) -> PlanRead:
    rounds = _first_rounds(session, body.wind_down_first_rounds if body else {})
    return screening.issue_plan(
        session, principal=principal, day=day, now=now, wind_down_first_rounds=rounds
    )


@router.post(
    "/results",
    summary="Post laboratory results (all or nothing; idempotent)",
    openapi_extra=documented_body(LabResultBatch),
)
def post_results(body: RawBody, acting: ActingDep) -> intake.IntakeReport:
    # Parsed here, in the thread pool, not by FastAPI on the event loop the live streams share.
    return intake.ingest_lab_results(
        acting.session,
        principal=acting.principal,
        batch=parse_body(LabResultBatch, body),
        tz=acting.settings.timezone,
        now=acting.now,
    )


@router.post("/results/import", summary="Post laboratory results as a CSV file")
def import_results(
    file: UploadFile, acting: ActingDep, load_valid: LoadValidQuery = False
) -> intake.IntakeReport:
    return load_upload(acting, file, intake.ingest_lab_results, load_valid=load_valid)


# Before "/{case_id}/contacts", which the path of a contacts line list would otherwise match.
@cases_router.post(
    "/line-lists/{kind}",
    summary="Register cases or close contacts from a line list (CSV; all or nothing)",
)
def import_line_list(
    kind: LineListKind, file: UploadFile, acting: ActingDep, load_valid: LoadValidQuery = False
) -> LineListReport:
    return line_lists.import_line_list(
        acting.session,
        principal=acting.principal,
        protector=acting.protector,
        kind=kind,
        stream=uploaded_csv(file),
        now=acting.now,
        tz=acting.settings.timezone,
        load_valid=load_valid,
    )


@cases_router.post(
    "/{case_id}/contacts",
    status_code=status.HTTP_201_CREATED,
    summary="Register a close contact: a quarantine order, and a referral if elsewhere",
)
def register_contact(case_id: int, contact_in: ContactCreate, acting: ActingDep) -> ContactRead:
    return contacts.register_contact(
        acting.session,
        principal=acting.principal,
        protector=acting.protector,
        case_id=case_id,
        contact_in=contact_in,
        now=acting.now,
        tz=acting.settings.timezone,
    )


@cases_router.post(
    "/contacts/{contact_id}/identify", summary="Attach a contact to its person (or refer it)"
)
def identify_contact(
    contact_id: int, identify_in: ContactIdentify, acting: ActingDep
) -> ContactRead:
    return contacts.identify_contact(
        acting.session,
        principal=acting.principal,
        protector=acting.protector,
        contact_id=contact_id,
        identify_in=identify_in,
        now=acting.now,
        tz=acting.settings.timezone,
    )


@people_router.post(
    "/duplicates/{pair_id}/merge",
    summary="Merge a pair: every record of the duplicate moves to the survivor (audited)",
)
def merge_duplicate(
    now: NowDep,
    pair_id: int,
    merge_in: DuplicateMerge,
    session: SessionDep,
    principal: PrincipalDep,
) -> MergeReport:
    return duplicates.merge_duplicates(
        session, principal=principal, pair_id=pair_id, survivor_id=merge_in.survivor_id, now=now
    )
