"""Routes of the daily bulletin: text and figures for a day or part of a day, in three languages."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse, Response

from xietong.api.deps import NowDep, PrincipalDep, SessionDep, SettingsDep
from xietong.core.clock import local_day
from xietong.reports import service
from xietong.reports.pdf import bulletin_pdf
from xietong.reports.schemas import BulletinRead

router = APIRouter(prefix="/api/reports", tags=["reports"])


@router.get(
    "/bulletin",
    summary="The daily bulletin (疫情通报) for a day or part of a day",
    response_model=BulletinRead,
    responses={
        200: {
            "content": {
                "text/plain": {"schema": {"type": "string"}},
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            }
        }
    },
)
def get_bulletin(
    now: NowDep,
    session: SessionDep,
    _principal: PrincipalDep,
    settings: SettingsDep,
    day: Annotated[
        date | None, Query(alias="date", description="Local day; default: yesterday")
    ] = None,
    lang: Literal["zh-Hans", "zh-Hant", "en"] = "zh-Hans",
    until: Annotated[
        str | None, Query(description="End of a partial day, e.g. 18:00; default: whole day")
    ] = None,
    source: Literal["auto", "official", "aggregates"] = "auto",
    format: Annotated[
        Literal["json", "text", "pdf"],
        Query(description="text: the bulletin's text alone; pdf: an A4 PDF to print"),
    ] = "json",
    names: Annotated[
        Literal["full", "short"],
        Query(description="short: units as the commission prints them (秀山县)"),
    ] = "full",
) -> Response | BulletinRead:
    result = service.bulletin(
        session,
        day=day or local_day(now, settings.timezone) - timedelta(days=1),
        lang=lang,
        until_minute=service.parse_until(until),
        source=source,
        tz=settings.timezone,
        short_names=names == "short",
    )
    if format == "text":
        return PlainTextResponse(result.text + "\n")
    if format == "pdf":
        return Response(bulletin_pdf(result, font=settings.pdf_font), media_type="application/pdf")
    return result
