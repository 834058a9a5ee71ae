"""Turning a page's context into HTML: the Jinja2 environment, its filters and the frame's data.

Pages hand `render` a template and a context; the frame (navigation, the user, the language
switch, the time the data is from) is filled in here so no page can forget it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from sqlalchemy.orm import Session

from xietong.areas import service as areas_service
from xietong.web.charts import chart_table
from xietong.web.forms import new_form_key
from xietong.web.i18n import (
    LANG_COOKIE,
    Language,
    join_list,
    label,
    note,
    row_reason,
    translate,
)
from xietong.web.session import Viewer

# Pages load only their own scripts and plotly from this server; nothing from elsewhere.
# MapLibre (inside plotly) starts its workers from blob: URLs and plotly injects <style> tags.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; worker-src 'self' blob:; child-src blob:; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; "
    "font-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


@dataclass(frozen=True)
class DistrictLabel:
    id: int
    code: str
    name_hans: str
    english: str
    central_urban: bool

    def name(self, lang: Language) -> str:
        return self.english if lang == "en" else self.name_hans


_LABELS = "xietong.web.district_labels"


def district_labels(session: Session) -> dict[int, DistrictLabel]:
    """District id → its label in both languages (41 rows; cached on the session)."""
    cached: dict[int, DistrictLabel] | None = session.info.get(_LABELS)
    if cached is None:
        cached = {
            d.id: DistrictLabel(d.id, d.code, d.name_hans, d.english, d.central_urban)
            for d in areas_service.list_districts(session)
        }
        session.info[_LABELS] = cached
    return cached


def to_json_for_script(value: Any) -> Markup:
    """JSON safe inside a <script type="application/json"> element (no `</script>` breakout)."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)  # noqa: S704 (escaped above for the script context)


@cache
def asset(name: str) -> str:
    """The URL of one of our static files, with a content hash so browsers never run a stale one."""
    digest = hashlib.sha256(
        resources.files("xietong.web").joinpath("static", name).read_bytes()
    ).hexdigest()[:10]
    return f"/static/{name}?v={digest}"


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("xietong.web", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["script_json"] = to_json_for_script
    env.globals["asset"] = asset
    env.globals["query_url"] = query_url
    env.globals["form_key"] = new_form_key
    env.globals["chart_table"] = chart_table
    return env


class Formatter:
    """Local-time and number formatting for one viewer."""

    def __init__(self, viewer: Viewer) -> None:
        self.lang = viewer.lang
        self.zone = ZoneInfo(viewer.settings.timezone)
        self.now = viewer.now

    def time(self, at: datetime | None) -> str:
        if at is None:
            return "—"
        return at.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")

    def clock(self, at: datetime) -> str:
        """To the second: when a live page last fetched its figures."""
        return at.astimezone(self.zone).strftime("%Y-%m-%d %H:%M:%S")

    def short_time(self, at: datetime | None) -> str:
        if at is None:
            return "—"
        return at.astimezone(self.zone).strftime("%m-%d %H:%M")

    def day(self, day: date | None) -> str:
        return "—" if day is None else day.isoformat()

    def number(self, value: float | int | None, digits: int = 0) -> str:
        if value is None:
            return "—"
        return f"{value:,.{digits}f}"

    def duration(self, seconds: float) -> str:
        minutes = int(abs(seconds) // 60)
        if minutes >= 120:
            return translate(self.lang, "frame.hours", n=minutes // 60)
        return translate(self.lang, "frame.minutes", n=minutes)

    def countdown(self, deadline: datetime, *, overdue: bool) -> str:
        """Time left to `deadline`, or how long it is overdue, from the server's now: the text
        the page opens with, which its script then keeps counting from the same now."""
        seconds = (deadline - self.now).total_seconds()
        key = "frame.overdue_by" if overdue else "frame.due_in"
        return translate(self.lang, key, t=self.duration(seconds))


def query_url(path: str, params: Mapping[str, object], **changes: object) -> str:
    """`path` with `params` updated by `changes` (None drops a parameter): filters and pages."""
    merged = {**params, **changes}
    kept = {k: str(v) for k, v in merged.items() if v is not None and v != ""}
    return f"{path}?{urlencode(kept)}" if kept else path


def _words(lang: Language) -> dict[str, Any]:
    """What every template uses to put codes and written text into the viewer's language."""
    return {
        "t": lambda key, **values: translate(lang, key, **values),
        "label": lambda prefix, value: label(lang, prefix, value),
        "note": lambda text: note(lang, text),
        "join": lambda items, names=None: join_list(lang, items, names),
        "row_reason": lambda text: row_reason(lang, text),
        "lang": lang,
    }


def _shared(viewer: Viewer, labels: dict[int, DistrictLabel], fmt: Formatter) -> dict[str, Any]:
    """What a page and a piece of one both use: the words, the formats, the districts, the
    viewer's principal and CSRF token, and the server's now."""
    lang = viewer.lang
    return {
        **_words(lang),
        "fmt": fmt,
        "principal": viewer.principal,
        "districts": labels,
        "districts_by_code": {d.code: d.name(lang) for d in labels.values()},
        "csrf": viewer.csrf if viewer.session_token else "",
        "server_now": viewer.now.isoformat(),
    }


def render(
    viewer: Viewer,
    session: Session,
    template: str,
    context: Mapping[str, Any],
    *,
    as_of: datetime | None = None,
    as_of_text: str | None = None,
    status_code: int = 200,
    query: Mapping[str, object] | None = None,
) -> HTMLResponse:
    """Render a page inside the frame; `as_of` is when its data is from (default: now), or
    `as_of_text` says it in words (e.g. published counts of a day)."""
    lang = viewer.lang
    principal = viewer.principal
    labels = district_labels(session)
    jurisdiction = translate(lang, "frame.city")
    if principal is not None and principal.district_id is not None:
        jurisdiction = labels[principal.district_id].name(lang)
    fmt = Formatter(viewer)
    html = (
        environment()
        .get_template(template)
        .render(
            **_shared(viewer, labels, fmt),
            viewer=viewer,
            jurisdiction=jurisdiction,
            as_of=fmt.time(as_of or viewer.now),
            as_of_text=as_of_text
            or translate(lang, "frame.data_as_of", at=fmt.time(as_of or viewer.now)),
            generated=fmt.time(viewer.now),
            path=viewer.path,
            query=dict(viewer.params if query is None else query),
            **context,
        )
    )
    response = HTMLResponse(html, status_code=status_code)
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    # Personal data must not linger in shared caches or the back button of a shared screen.
    response.headers["Cache-Control"] = "no-store"
    response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", path="/")
    return response


def render_fragment(
    viewer: Viewer, session: Session, template: str, context: Mapping[str, Any]
) -> HTMLResponse:
    """A piece of a page (a table, a panel) that the page's script fetches and swaps in."""
    fmt = Formatter(viewer)
    html = (
        environment()
        .get_template(template)
        .render(
            **_shared(viewer, district_labels(session), fmt),
            as_of_text=translate(viewer.lang, "frame.data_as_of", at=fmt.time(viewer.now)),
            **context,
        )
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})
