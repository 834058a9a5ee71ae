"""FHIR bulk export (`$export`, the Bulk Data Access guide's asynchronous pattern): a request is
stored as a job, the server's workers run it, and the requester polls its status and downloads
NDJSON files, one per resource type.

A job runs in one transaction with the requester's rights: each resource comes from its
domain's service (persons, screening results, cases, referrals), which reads only what the
requester may see and audits the read; the job itself is audited with its types and counts.
A job whose process dies is still queued and runs again; its files are written anew.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.auth import service as auth_service
from xietong.cases import service as cases_service
from xietong.core.errors import NotFound, PermissionDenied, RowError, ValidationFailed
from xietong.core.principal import Permission, Principal, Role
from xietong.interop import export
from xietong.interop.models import ExportJob
from xietong.people import service as people_service
from xietong.referrals.inbox import service as referrals_service
from xietong.screening import service as screening_service

PAGE = 1_000
# Types a role without access to persons may export: results name tubes, not persons.
WITHOUT_PERSONS = {"Observation"}


def parse_types(text: str | None) -> list[str]:
    if not text:
        return list(export.TYPES)
    types = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [t for t in types if t not in export.TYPES]
    if unknown:
        raise ValidationFailed(
            errors=[
                RowError("_type", t, f"not exported (one of {', '.join(export.TYPES)})", t)
                for t in unknown
            ],
            summary="export refused",
        )
    return list(dict.fromkeys(types))


def start_export(
    session: Session,
    *,
    principal: Principal,
    types: list[str],
    since: datetime | None,
    request: str,
    now: datetime,
) -> ExportJob:
    """Queue an export of `types` changed since `since`, in the requester's jurisdiction."""
    if not principal.can(Permission.read_persons):
        refused = [t for t in types if t not in WITHOUT_PERSONS]
        if refused:
            raise PermissionDenied(
                f"role {principal.role} may export {', '.join(sorted(WITHOUT_PERSONS))} only, "
                f"not {', '.join(refused)}"
            )
    if principal.role is Role.viewer:
        raise PermissionDenied("a viewer does not export records")
    if since is not None and since.tzinfo is None:
        raise ValidationFailed(
            errors=[RowError("_since", "_since", "needs a time zone offset", since.isoformat())]
        )
    job = ExportJob(
        id=secrets.token_hex(16),
        user_id=principal.user_id,
        username=principal.username,
        role=principal.role.value,
        district_id=principal.district_id,
        types=types,
        since=since,
        request=request[:2000],
        status="queued",
        requested_at=now,
    )
    session.add(job)
    session.flush()
    return job


def get_job(session: Session, *, principal: Principal, job_id: str) -> ExportJob:
    """The requester's own job (anyone else's does not exist for them)."""
    job = session.get(ExportJob, job_id)
    if job is None or job.user_id != principal.user_id or job.status == "cancelled":
        raise NotFound(f"no export {job_id!r}", code="export_not_found")
    return job


def cancel_export(session: Session, *, principal: Principal, job_id: str, folder: Path) -> None:
    """Cancel a job, or delete a finished one's files."""
    job = get_job(session, principal=principal, job_id=job_id)
    job.status = "cancelled"
    shutil.rmtree(folder / job.id, ignore_errors=True)
    session.flush()


def file_path(
    session: Session, *, principal: Principal, job_id: str, name: str, folder: Path
) -> Path:
    """A finished job's NDJSON file, for its requester only."""
    job = get_job(session, principal=principal, job_id=job_id)
    names = {f"{entry['type']}.ndjson" for entry in job.output or []}
    if job.status != "done" or name not in names:
        raise NotFound(f"no file {name!r} in export {job_id!r}", code="export_file_not_found")
    return folder / job.id / name


def run_pending_exports(session: Session, *, folder: Path, now: datetime, limit: int = 1) -> int:
    """Run queued jobs (several workers skip each other's); the number run."""
    query = select(ExportJob).where(ExportJob.status == "queued").order_by(ExportJob.requested_at)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    jobs = list(session.scalars(query.limit(limit)))
    for job in jobs:
        run_export(session, job=job, folder=folder, now=now)
    return len(jobs)


def run_export(session: Session, *, job: ExportJob, folder: Path, now: datetime) -> None:
    principal = Principal(
        user_id=job.user_id,
        username=job.username,
        role=Role(job.role),
        district_id=job.district_id,
    )
    target = folder / job.id
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    sources: dict[str, Callable[[], Iterator[dict[str, Any]]]] = {
        "Patient": lambda: _patients(session, principal, job.since),
        "Observation": lambda: _observations(session, principal, job.since),
        "Condition": lambda: _conditions(session, principal, job.since),
        "ServiceRequest": lambda: _service_requests(session, principal, job.since, now),
    }
    output = []
    for kind in job.types:
        count = export.write_ndjson(target / f"{kind}.ndjson", sources[kind]())
        output.append({"type": kind, "count": count})
    job.output = output
    job.transaction_time = now
    job.finished_at = now
    job.status = "done"
    auth_service.record_audit(
        session,
        principal=principal,
        action="export",
        entity="fhir_export",
        entity_ids=[job.id],
        detail={"types": job.types, "counts": {o["type"]: o["count"] for o in output}},
    )
    session.flush()


def manifest(job: ExportJob, *, base_url: str) -> dict[str, Any]:
    """The completed job's manifest, as the Bulk Data Access guide describes it."""
    return {
        "transactionTime": job.transaction_time.isoformat() if job.transaction_time else None,
        "request": job.request,
        "requiresAccessToken": True,
        "output": [
            {
                "type": entry["type"],
                "url": f"{base_url}/{job.id}/{entry['type']}.ndjson",
                "count": entry["count"],
            }
            for entry in job.output or []
        ],
        "error": [],
    }


# --- the domains' records, page by page, through their services ------------------------------


def _pages(fetch: Callable[[int], list[Any]]) -> Iterator[Any]:
    offset = 0
    while True:
        page = fetch(offset)
        yield from page
        if len(page) < PAGE:
            return
        offset += PAGE


def _patients(
    session: Session, principal: Principal, since: datetime | None
) -> Iterator[dict[str, Any]]:
    for person in _pages(
        lambda offset: people_service.list_persons(
            session, principal=principal, updated_since=since, limit=PAGE, offset=offset
        )[0]
    ):
        yield export.patient(
            person_id=person.id,
            id_masked=person.id_masked,
            residence_district=person.residence_district_code,
            current_district=person.current_district_code,
        )


def _observations(
    session: Session, principal: Principal, since: datetime | None
) -> Iterator[dict[str, Any]]:
    for row in _pages(
        lambda offset: screening_service.list_results(
            session, principal=principal, updated_since=since, limit=PAGE, offset=offset
        )
    ):
        yield export.observation(
            export.ResultRow(
                tube_code=row.tube_code,
                district_code=row.district_code,
                member_count=row.member_count,
                outcome=row.outcome,
                ct_value=row.ct_value,
                lab=row.lab,
                reported_at=row.reported_at,
                collected_at=row.collected_at,
                updated_at=row.updated_at,
            ),
            number=row.id,
        )


def _conditions(
    session: Session, principal: Principal, since: datetime | None
) -> Iterator[dict[str, Any]]:
    for case in _pages(
        lambda offset: cases_service.to_reads(
            session,
            cases_service.list_cases(
                session, principal=principal, updated_since=since, limit=PAGE, offset=offset
            )[0],
        )
    ):
        yield export.condition(
            case_id=case.id,
            person_id=case.person_id,
            classification=case.classification,
            detected_at=case.detected_at,
            report_district=case.report_district_code,
            found_under_control=case.found_under_control,
        )


def _service_requests(
    session: Session, principal: Principal, since: datetime | None, now: datetime
) -> Iterator[dict[str, Any]]:
    for referral in _pages(
        lambda offset: referrals_service.list_referrals(
            session,
            principal=principal,
            now=now,
            updated_since=since,
            limit=PAGE,
            offset=offset,
        )[0]
    ):
        yield export.service_request(
            referral_id=referral.id,
            person_id=referral.person_id,
            status=referral.status,
            reason=referral.reason,
            evidence=referral.evidence,
            from_district=referral.from_district_code,
            to_district=referral.to_district_code,
            pushed_at=referral.pushed_at,
            control_due_at=referral.control_due_at,
        )
