"""Routes for laboratory results in HL7 v2 (ORU^R01) and FHIR R4, and the FHIR bulk export."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from xietong.auth.dependencies import PrincipalDep, SettingsDep
from xietong.core.clock import utcnow
from xietong.interop import hl7v2, service
from xietong.storage.dependencies import SessionDep

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
        now=utcnow(),
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
