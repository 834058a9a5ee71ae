"""The overview: the city's situation on one screen.

A map of the reporting units coloured by new surface infections, the city's epidemic curve
(under control vs surface), phase and Rt by district, and the three coordinations as panels:
points (active clusters), lines (open chains, spillovers between districts), surface (surface
cases and days since the last one). Every number comes from the analytics and cases services.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from xietong.analytics import official, tasks
from xietong.analytics import service as analytics_service
from xietong.analytics.nowcasting import DelayReads
from xietong.analytics.schemas import ExpectedRead
from xietong.api.deps import ClockDep, SessionDep, SessionFactoryDep
from xietong.cases import notices as case_notices
from xietong.core.clock import local_day
from xietong.core.errors import NotFound, PermissionDenied
from xietong.core.principal import Principal, Role
from xietong.web import charts
from xietong.web.data import overview as data
from xietong.web.data import wall
from xietong.web.i18n import Language, translate
from xietong.web.pages.common import act, guard
from xietong.web.pages.referrals import LIVE_TOPICS as REFERRAL_TOPICS
from xietong.web.rendering import Formatter, district_labels, render, render_fragment
from xietong.web.session import Viewer, ViewerDep
from xietong.zones import notices as zone_notices

router = APIRouter(include_in_schema=False)

# What may change the overview's figures: referrals, risk areas, cases (recorded, reclassified,
# linked or unlinked), a refresh of the aggregates. The stream is asked for these prefixes;
# the page listens for these topics.
LIVE_PREFIXES = ("referral.", "zones.", "cases.", "analytics.")
LIVE_TOPICS = (
    *REFERRAL_TOPICS,
    *zone_notices.TOPICS,
    *case_notices.TOPICS,
    analytics_service.AGGREGATES_REFRESHED,
    official.OFFICIAL_IMPORTED,
)


def parse_day(value: str | None, default: date) -> date:
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        return default


@router.get("/overview")
def overview(viewer: ViewerDep, session: SessionDep, day: str | None = None) -> Response:
    def build(principal: Principal) -> Response:
        context, as_of, as_of_text = overview_context(viewer, session, principal=principal, day=day)
        return render(viewer, session, "overview.html", context, as_of=as_of, as_of_text=as_of_text)

    return guard(viewer, session, build)


@router.get("/overview/panels")
def panels_fragment(viewer: ViewerDep, session: SessionDep, day: str | None = None) -> Response:
    """The figures below the strip, fetched again whenever the stream says they may have
    changed (a case, a referral, a risk area, a refresh of the aggregates)."""
    principal = viewer.principal
    if principal is None:
        return HTMLResponse("", status_code=401)
    context, _, _ = overview_context(viewer, session, principal=principal, day=day)
    return render_fragment(
        viewer,
        session,
        "overview_panels.html",
        {**context, "path": "/overview", "query": {"day": day} if day else {}},
    )


def overview_context(
    viewer: Viewer, session: Session, *, principal: Principal, day: str | None
) -> tuple[dict[str, Any], datetime | None, str | None]:
    """What the page and its panels show, when their data is from and how to say so."""
    context, as_of = _figures(
        viewer,
        session,
        principal=principal,
        day=shown_day(viewer, day),
        today=local_day(viewer.now, viewer.settings.timezone),
    )
    picture = context["situation"]
    as_of_text = None
    if picture is not None and picture.trend.parameters.source == "official":
        as_of_text = translate(viewer.lang, "frame.data_official", day=context["day"].isoformat())
    as_of_line = as_of_text or translate(
        viewer.lang, "frame.data_as_of", at=Formatter(viewer).time(as_of or viewer.now)
    )
    context.update(
        {
            # No day asked for: the live panels follow "yesterday" past midnight.
            "day_param": day or None,
            "now": viewer.now,
            "as_of_line": as_of_line,
            "live_topics": ",".join(LIVE_TOPICS),
            "live_stream": "/api/stream?" + "&".join(f"topic={t}" for t in LIVE_PREFIXES),
        }
    )
    return context, as_of, as_of_text


def shown_day(viewer: Viewer, day: str | None) -> date:
    """The day the overview shows: the last complete day unless another is asked for (today's
    counts are still arriving)."""
    today = local_day(viewer.now, viewer.settings.timezone)
    return min(parse_day(day, today - timedelta(days=1)), today)


def _figures(
    viewer: Viewer, session: Session, *, principal: Principal, day: date, today: date
) -> tuple[dict[str, Any], datetime | None]:
    lang = viewer.lang
    labels = district_labels(session)
    own = labels[principal.district_id].code if principal.district_id is not None else None
    # The trend's nowcast and the forecast read the same reporting delays: once.
    reads = DelayReads()
    picture, missing = data.situation(session, day=day, reads=reads)
    surface = picture.surface_by_code() if picture is not None else {}
    # The strip and the map count the same areas and referrals: once for both.
    waiting = wall.wall_reads(session, principal=principal, day=day, now=viewer.now)
    context: dict[str, Any] = {
        "charts": True,
        "day": day,
        "partial_day": day >= today,
        "own_code": own,
        "situation": picture,
        "missing": missing,
        "strip": strip_of(session, viewer, principal, waiting),
        "live": principal.role in wall.STRIP_ROLES,
        "wall_map": wall.district_map(
            principal=principal,
            labels=labels,
            lang=lang,
            surface=surface,
            day=day,
            highlight=own,
            reads=waiting,
        ),
        "curve_json": None,
        "expected_days": 0,
    }
    if picture is not None:
        days, under, on_surface = picture.city_curve()
        expected, lower, upper = picture.city_nowcast()
        try:
            ahead: ExpectedRead | None = data.expected_after(
                session, picture, tz=viewer.settings.timezone, reads=reads
            )
        except NotFound:
            ahead = None
        nowcast = None
        if picture.trend.parameters.estimated_on == "nowcast":
            nowcast = charts.NowcastLine(
                expected=expected,
                lower=lower,
                upper=upper,
                label=translate(lang, "overview.nowcast"),
                band_label=translate(lang, "overview.nowcast_band"),
            )
        context["curve_json"] = charts.epidemic_curve(
            days,
            under_control=under,
            surface=on_surface,
            under_control_label=translate(lang, "overview.under_control"),
            surface_label=translate(lang, "overview.surface"),
            height=400,
            nowcast=nowcast,
            expected=expected_band(ahead, lang),
        )
        context["expected_days"] = len(ahead.days) if ahead is not None else 0
    return context, picture.as_of if picture is not None else None


def expected_band(expected: ExpectedRead | None, lang: Language) -> charts.ExpectedBand | None:
    """The city's backtested forecast as the curve draws it after the days observed."""
    if expected is None:
        return None
    return charts.ExpectedBand(
        days=expected.days,
        **expected.city.model_dump(),
        label=translate(lang, "overview.expected"),
        band_labels=(
            translate(lang, "overview.expected_band", level=90),
            translate(lang, "overview.expected_band", level=50),
        ),
    )


def strip_of(
    session: Session, viewer: Viewer, principal: Principal, reads: wall.WallReads | None = None
) -> wall.WorkStrip | None:
    """The strip from the view's `reads`, or from its own (no map: no day's areas)."""
    if reads is None:
        reads = wall.wall_reads(session, principal=principal, day=None, now=viewer.now)
    return wall.work_strip(
        session, principal=principal, now=viewer.now, tz=viewer.settings.timezone, reads=reads
    )


@router.get("/overview/strip")
def strip_fragment(viewer: ViewerDep, session: SessionDep) -> Response:
    """The strip alone, fetched again whenever a referral changes (the page's live region)."""
    principal = viewer.principal
    if principal is None:
        return HTMLResponse("", status_code=401)
    return render_fragment(
        viewer, session, "overview_strip.html", {"strip": strip_of(session, viewer, principal)}
    )


@router.post("/overview/refresh")
def refresh_aggregates(
    viewer: ViewerDep,
    session: SessionDep,
    background: BackgroundTasks,
    factory: SessionFactoryDep,
    clock: ClockDep,
    csrf: Annotated[str, Form()] = "",
    form_key: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/overview",
) -> Response:
    """The empty overview's button: recount the daily aggregates (the command centre's), then,
    after the redirect, the pages' results as the refresh job keeps them."""

    def run(principal: Principal) -> None:
        if principal.role is not Role.command:
            raise PermissionDenied("only the command centre refreshes the aggregates")
        tz = viewer.settings.timezone
        analytics_service.refresh_aggregates(session, now=viewer.now, tz=tz)
        background.add_task(tasks.keep_results_after_response, factory, clock=clock, tz=tz)

    return act(viewer, session, csrf=csrf, action=run, back_to=next, form_key=form_key)


@router.get("/overview/coordination")
def coordination_panels(viewer: ViewerDep, session: SessionDep, day: str | None = None) -> Response:
    """Points and lines, fetched by the overview once it is drawn (chains take longest)."""
    principal = viewer.principal
    if principal is None:
        return HTMLResponse("", status_code=401)
    labels = district_labels(session)
    context = {
        "coordination": data.coordination(session, principal=principal, day=shown_day(viewer, day)),
        "own_code": labels[principal.district_id].code if principal.district_id else None,
    }
    return render_fragment(viewer, session, "overview_coordination.html", context)
