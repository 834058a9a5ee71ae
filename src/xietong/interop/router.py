"""Routes for laboratory results in HL7 v2 (ORU^R01) and FHIR R4, and the FHIR bulk export."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from xietong.api.deps import NowDep, PrincipalDep, SessionDep, SettingsDep
from xietong.interop import hl7v2, service

router = APIRouter(tags=["interop"])

HL7_MEDIA_TYPE = "x-application/hl7-v2+er7"


@router.post(
    "/api/labs/hl7",
    summary="Post HL7 v2 ORU^R01 results (one or many messages); answered with one ACK each",
    openapi_extra={
        "requestBody": {"content": {HL7_MEDIA_TYPE: {"schema": {"type": "string"}}}},
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


@router.post(
    "/api/fhir",
    summary="Post a FHIR R4 Bundle of DiagnosticReport, Observation and Specimen results",
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
