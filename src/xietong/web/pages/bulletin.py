"""The daily bulletin (疫情通报): its text in the official form, to read, copy, print (the page
has a print layout) and download as text or as an A4 PDF.

The text and figures are `reports.service.bulletin`, the same as `GET /api/reports/bulletin`;
the PDF is `reports.pdf.bulletin_pdf`, as `?format=pdf` there.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any, Literal, NamedTuple

from fastapi import APIRouter, Depends
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy.orm import Session

from xietong.api.deps import SessionDep
from xietong.core.clock import local_day
from xietong.core.errors import DomainError
from xietong.core.principal import Principal
from xietong.reports import service as reports_service
from xietong.reports.pdf import FontMissing, bulletin_pdf
from xietong.reports.schemas import BulletinRead
from xietong.web.i18n import translate
from xietong.web.pages.common import error_page, guard
from xietong.web.rendering import render
from xietong.web.session import Viewer, ViewerDep

router = APIRouter(include_in_schema=False)

BulletinLanguage = Literal["zh-Hans", "zh-Hant", "en"]
LANGUAGES: tuple[BulletinLanguage, ...] = ("zh-Hans", "zh-Hant", "en")
# The cut-offs a command centre publishes at: the whole day, or the afternoon press conference.
UNTIL_HOURS = (24, 18, 12)


class BulletinChoice(NamedTuple):
    """The bulletin a reader asked for: its day, its cut-off hour and its language."""

    day: date
    hours: int
    lang: BulletinLanguage


def bulletin_choice(
    viewer: ViewerDep,
    day: str | None = None,
    until: int | None = None,
    language: str | None = None,
) -> BulletinChoice:
    """Yesterday's whole day in the viewer's language unless asked otherwise; never the future."""
    today = local_day(viewer.now, viewer.settings.timezone)
    try:
        chosen_day = min(date.fromisoformat(day), today) if day else today - timedelta(days=1)
    except ValueError:
        chosen_day = today - timedelta(days=1)
    hours = until if until in UNTIL_HOURS else 24
    default: BulletinLanguage = "en" if viewer.lang == "en" else "zh-Hans"
    chosen_lang = next((code for code in LANGUAGES if code == language), default)
    return BulletinChoice(chosen_day, hours, chosen_lang)


BulletinChoiceDep = Annotated[BulletinChoice, Depends(bulletin_choice)]


def _bulletin(
    session: Session, viewer: Viewer, *, day: date, hours: int, lang: BulletinLanguage
) -> BulletinRead:
    return reports_service.bulletin(
        session, day=day, lang=lang, until_minute=hours * 60, tz=viewer.settings.timezone
    )


@router.get("/bulletin")
def bulletin_page(viewer: ViewerDep, session: SessionDep, choice: BulletinChoiceDep) -> Response:
    def build(principal: Principal) -> Response:
        chosen_day, hours, lang = choice
        context: dict[str, Any] = {
            "day": chosen_day,
            "hours": hours,
            "until_hours": UNTIL_HOURS,
            "languages": LANGUAGES,
            "bulletin_lang": lang,
            "bulletin": None,
            "problem": None,
        }
        try:
            context["bulletin"] = _bulletin(session, viewer, day=chosen_day, hours=hours, lang=lang)
        except DomainError as exc:
            context["problem"] = exc.message
        query = {"day": chosen_day.isoformat(), "until": hours, "language": lang}
        return render(viewer, session, "bulletin.html", context, query=query)

    return guard(viewer, session, build)


@router.get("/bulletin.txt")
def bulletin_text(viewer: ViewerDep, session: SessionDep, choice: BulletinChoiceDep) -> Response:
    def build(principal: Principal) -> Response:
        chosen_day, hours, lang = choice
        try:
            text = _bulletin(session, viewer, day=chosen_day, hours=hours, lang=lang).text
        except DomainError as exc:
            return error_page(viewer, session, exc)
        name = f"bulletin-{chosen_day.isoformat()}-{hours:02d}h-{lang}.txt"
        return PlainTextResponse(
            text + "\n",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    return guard(viewer, session, build)


@router.get("/bulletin.pdf")
def bulletin_pdf_download(
    viewer: ViewerDep, session: SessionDep, choice: BulletinChoiceDep
) -> Response:
    def build(principal: Principal) -> Response:
        chosen_day, hours, lang = choice
        try:
            bulletin = _bulletin(session, viewer, day=chosen_day, hours=hours, lang=lang)
            content = bulletin_pdf(bulletin, font=viewer.settings.pdf_font)
        except FontMissing as exc:
            # Not the reader's doing: what is missing on the server, and who can fix it.
            words = {
                "message": translate(
                    viewer.lang, "bulletin.no_font", path=viewer.settings.pdf_font
                ),
                "code": exc.code,
                "next_step": translate(viewer.lang, "bulletin.no_font_next"),
                "back": "/bulletin",
            }
            return render(viewer, session, "error.html", words, status_code=exc.status_code)
        except DomainError as exc:
            return error_page(viewer, session, exc)
        name = f"bulletin-{chosen_day.isoformat()}-{hours:02d}h-{lang}.pdf"
        return Response(
            content,
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    return guard(viewer, session, build)
