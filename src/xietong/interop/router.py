"""Routes for laboratory results in HL7 v2 (ORU^R01) and FHIR R4, and the FHIR bulk export."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from xietong.api.deps import NowDep, PrincipalDep, SessionDep, SettingsDep
from xietong.interop import bulk_export, fhir, hl7v2, service

router = APIRouter(tags=["interop"])

HL7_MEDIA_TYPE = "x-application/hl7-v2+er7"


@router.post(
    "/api/labs/hl7",
    summary="Post HL7 v2 ORU^R01 results (one or many messages); answered with one ACK each",
    openapi_extra={
        "requestBody": {"content": {HL7_MEDIA_TYPE: {"schema": {"type": "string"}}}},
    },
    responses={
        200: {
            "description": "One ACK per message (as JSON when `Accept` asks for it)",
            "content": {HL7_MEDIA_TYPE: {"schema": {"type": "string"}}, "application/json": {}},
        }
    },
)
async def post_hl7(
    now: NowDep,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    accept: Annotated[str, Header()] = HL7_MEDIA_TYPE,
) -> Response:
    text = (await request.body()).decode("utf-8", errors="replace")
    answer = await run_in_threadpool(
        service.receive_hl7,
        session,
        principal=principal,
        messages=hl7v2.split_messages(text),
        source="hl7:api",
        tz=settings.timezone,
        now=now,
    )
    if "application/json" in accept:
        return JSONResponse(
            {
                "accepted": answer.accepted,
                "errors": answer.errors,
                "rejected": answer.rejected,
                "acks": answer.acks,
                "results": answer.results.model_dump() if answer.results else None,
                "followed_up": answer.followed_up,
            }
        )
    return Response("".join(answer.acks), media_type=HL7_MEDIA_TYPE)


FHIR_MEDIA_TYPE = "application/fhir+json"
_OUTCOME = {"content": {FHIR_MEDIA_TYPE: {"schema": {"type": "object"}}}}


@router.post(
    "/api/fhir",
    summary="Post a FHIR R4 Bundle of DiagnosticReport, Observation and Specimen results",
    responses={
        200: {"description": "An OperationOutcome: every entry accepted or refused", **_OUTCOME},
        400: {"description": "An OperationOutcome: the Bundle itself is refused", **_OUTCOME},
    },
)
async def post_bundle(
    now: NowDep,
    bundle: Annotated[dict[str, Any], Body(media_type=FHIR_MEDIA_TYPE)],
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
) -> Response:
    answer = await run_in_threadpool(
        service.receive_fhir,
        session,
        principal=principal,
        bundle=bundle,
        source="fhir:api",
        tz=settings.timezone,
        now=now,
    )
    status = 400 if answer.results is None and answer.refused_entries == [-1] else 200
    return JSONResponse(answer.outcome, status_code=status, media_type=FHIR_MEDIA_TYPE)


EXPORT = "/api/fhir/$export"
EXPORT_STATUS = "/api/fhir/$export-status"
EXPORT_FILES = "/api/fhir/$export-files"


def _outcome_response(status: int, code: str, diagnostics: str) -> JSONResponse:
    body = fhir.outcome([fhir.Issue(-1, code, "", diagnostics)], note=diagnostics)
    return JSONResponse(body, status_code=status, media_type=FHIR_MEDIA_TYPE)


@router.get(
    EXPORT,
    summary="Start a FHIR bulk export of what you may see (Patient, Observation, Condition, "
    "ServiceRequest) as NDJSON, asynchronously",
    status_code=202,
    responses={
        400: {"description": "An OperationOutcome: `Prefer: respond-async` missing", **_OUTCOME}
    },
)
def start_export(
    now: NowDep,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    prefer: Annotated[str | None, Header()] = None,
    type_: Annotated[str | None, Query(alias="_type")] = None,
    since: Annotated[datetime | None, Query(alias="_since")] = None,
) -> Response:
    if prefer is None or "respond-async" not in prefer:
        return _outcome_response(400, "required", "the Prefer: respond-async header is required")
    job = bulk_export.start_export(
        session,
        principal=principal,
        types=bulk_export.parse_types(type_),
        since=since,
        request=str(request.url),
        now=now,
    )
    location = str(request.url_for("export_status", job_id=job.id))
    return Response(status_code=202, headers={"Content-Location": location})


@router.get(
    EXPORT_STATUS + "/{job_id}",
    summary="The status of a bulk export, or its manifest",
    responses={
        202: {"description": "Still running (`X-Progress`, `Retry-After`)"},
        500: {"description": "An OperationOutcome: the export failed", **_OUTCOME},
    },
)
def export_status(
    job_id: str, request: Request, session: SessionDep, principal: PrincipalDep
) -> Response:
    job = bulk_export.get_job(session, principal=principal, job_id=job_id)
    if job.status in ("queued", "running"):
        return Response(status_code=202, headers={"X-Progress": job.status, "Retry-After": "2"})
    if job.status == "failed":
        return _outcome_response(500, "exception", job.error or "the export failed")
    base = str(request.url_for("export_file", job_id=job.id, name="x")).rsplit("/", 2)[0]
    return JSONResponse(bulk_export.manifest(job, base_url=base))


@router.delete(
    EXPORT_STATUS + "/{job_id}",
    summary="Cancel a bulk export or delete its files",
    status_code=202,
)
def cancel_export(
    job_id: str, session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> Response:
    bulk_export.cancel_export(
        session, principal=principal, job_id=job_id, folder=settings.export_dir
    )
    return Response(status_code=202)


@router.get(
    EXPORT_FILES + "/{job_id}/{name}",
    summary="One NDJSON file of a finished export",
    responses={200: {"content": {"application/fhir+ndjson": {"schema": {"type": "string"}}}}},
)
def export_file(
    job_id: str, name: str, session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> FileResponse:
    path = bulk_export.file_path(
        session, principal=principal, job_id=job_id, name=name, folder=settings.export_dir
    )
    return FileResponse(path, media_type="application/fhir+ndjson")
