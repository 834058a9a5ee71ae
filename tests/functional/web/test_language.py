"""Every page speaks its reader's language: after the twin's outbreak is replayed for a few days,
each page, in Chinese and in English, shows no code word of the system (a status, a reason, a
source, a building kind, a history step) and no note in developer English, and English lists are
not joined with the Chinese "、"."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.web import log_in
from xietong.areas.models import Building
from xietong.cases.models import Case, CloseContact, Cluster, QuarantineOrder
from xietong.core.principal import SYSTEM, Role
from xietong.people.protection import PersonalDataProtector
from xietong.referrals.models import Referral, ReferralEvent
from xietong.screening.models import ResultBatch
from xietong.twin.city import build_city
from xietong.twin.replay import START_DAY, replay
from xietong.web.i18n import row_reason
from xietong.zones import service as zones_service
from xietong.zones.models import RiskArea

DAYS = 6
LAST_DAY = START_DAY + timedelta(days=DAYS - 1)

# The codes a page must never show as they are: each is a value the services store or return
# (statuses, reasons, steps, sources, kinds), shown to a person only through the tables.
GUARDED_WORDS = (
    # referral statuses and history actions
    "pushed",
    "acknowledged",
    "located",
    "controlled",
    "closed",
    "declined",
    "escalated",
    "rerouted",
    "reassigned",
    "acknowledge",
    "locate",
    "control",
    # referral reasons
    "pooled_positive",
    "positive",
    "close_contact",
    "left_high_risk_area",
    "manual",
    # risk-area and plan statuses, origins and steps
    "proposed",
    "lifting_proposed",
    "lifted",
    "rejected",
    "approved",
    "superseded",
    "surface_case",
    "designation",
    "designated",
    # building kinds of clusters
    "residential",
    "workplace",
    "venue",
    "school",
    "facility",
    # where figures come from
    "aggregates",
    "official",
    "facts",
    "forecast_model",
    "growth_recalibrated",
    "forecast_given",
    "trend",
    "recent_mean",
    # exposures, outcomes, tube kinds, plan groups
    "household",
    "transport",
    "care",
    "negative",
    "invalid",
    "retest",
    "resample",
    "high_risk_area",
    "central_urban_area",
    "other_districts",
    "wind_down",
    # notes the services write
    "close contact of case",
    "registered by",
)
# Chinese pages: any of the words above. English pages: the words that no English sentence
# uses (a code with an underscore) and the Chinese list comma. What a person wrote (feedback,
# notes: marked `data-written`) is shown as written, so there only the notes the services write
# are looked for; `<code>` is what a person must type as it is (a file's column names), and a
# passage marked with another `lang` (a bulletin in Chinese on an English page) is that language.
SERVICE_NOTES = ("close contact of case", "registered by", "surface infection found on")
CODE = re.compile(r"\b[a-z]+_[a-z_]+\b")
# On a Chinese page, English prose (two or more lowercase words) is a sentence left untranslated.
ENGLISH_PROSE = re.compile(r"\b[a-z]{2,}(?: [a-z]{2,})+\b")
ZH_GUARD = re.compile(r"(?<![A-Za-z0-9_\-])(" + "|".join(GUARDED_WORDS) + r")(?![A-Za-z0-9_\-])")
SHOWN_ATTRIBUTES = {"title", "placeholder", "aria-label", "data-label", "alt"}
VOID = {"br", "input", "img", "meta", "link", "hr", "col", "source", "wbr", "area", "base"}


@dataclass
class Shown:
    text: str
    written: bool  # inside what a person wrote


class _Text(HTMLParser):
    """The text a person reads: element text and the attributes shown, not scripts or styles."""

    def __init__(self, lang: str) -> None:
        super().__init__()
        self.lang = lang
        self.parts: list[Shown] = []
        self._stack: list[str] = []  # per open element: "skip", "written" or ""

    def _mode(self) -> str:
        return "skip" if "skip" in self._stack else "written" if "written" in self._stack else ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        other_lang = values.get("lang") and not str(values["lang"]).startswith(self.lang)
        mode = (
            "skip"
            if tag in ("script", "style", "code") or other_lang
            else "written"
            if "data-written" in values
            else ""
        )
        if self._mode() != "skip":
            for name, value in attrs:
                if name in SHOWN_ATTRIBUTES and value:
                    self.parts.append(Shown(value, self._mode() == "written"))
        if tag not in VOID:
            self._stack.append(mode)

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID and self._stack:
            self._stack.pop()

    def handle_data(self, data: str) -> None:
        if self._mode() != "skip" and data.strip():
            self.parts.append(Shown(data.strip(), self._mode() == "written"))


def shown_text(html: str, lang: str) -> list[Shown]:
    parser = _Text(lang)
    parser.feed(html)
    return parser.parts


def untranslated(html: str, lang: str) -> list[str]:
    found = []
    for shown in shown_text(html, lang):
        text = shown.text
        if lang == "zh":
            if shown.written:
                found += [n for n in SERVICE_NOTES if n in text]
            else:
                found += [m.group(0) for m in ZH_GUARD.finditer(text)]
                found += ENGLISH_PROSE.findall(text)
        elif not shown.written:
            found += CODE.findall(text)
            if "、" in text:
                found.append(f"、 in {text!r}")
    return sorted(set(found))


@contextmanager
def _savepoint(session: Session) -> Iterator[Session]:
    nested = session.begin_nested()
    try:
        yield session
    except BaseException:
        nested.rollback()
        raise
    nested.commit()


def _replayed_city(session: Session, protector: PersonalDataProtector) -> None:
    with _savepoint(session):
        built = build_city(session, protector=protector, population=2_000, seed=17)
    replay(
        lambda: _savepoint(session),
        run_id=built.run_id,
        days=DAYS,
        protector=protector,
        tz="Asia/Shanghai",
        intensity=60.0,
    )


def _first(session: Session, column: object, *where: object) -> int:
    value = session.scalar(select(func.min(column)).where(*where))  # type: ignore[arg-type]
    assert value is not None, f"the replay made no {column}"
    return int(value)


def _proposed_area(session: Session, case_id: int) -> int:
    """A risk area proposed by hand on a case's building, where the few replayed days made none."""
    case = session.get(Case, case_id)
    assert case is not None and case.residence_building_id is not None
    building = session.get(Building, case.residence_building_id)
    assert building is not None
    area = zones_service.open_area(
        session,
        principal=SYSTEM,
        building_code=building.code,
        reason="社会面病例",
        now=case.detected_at,
        designate=False,
    )
    return area.id


def test_every_page_in_both_languages_shows_no_code_word(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    _replayed_city(session, protector)
    day = LAST_DAY.isoformat()
    handled = session.scalar(
        select(ReferralEvent.referral_id)
        .where(ReferralEvent.action.in_(["closed", "acknowledged"]))
        .order_by(ReferralEvent.referral_id)
        .limit(1)
    )
    assert handled is not None
    contact_case = _first(session, CloseContact.case_id)
    case = _first(session, Case.id)
    area = session.scalar(select(func.min(RiskArea.id))) or _proposed_area(session, case)
    batch = _first(session, ResultBatch.id)
    cluster = _first(session, Cluster.id)
    order = _first(session, QuarantineOrder.id)
    referral = session.get(Referral, handled)
    assert referral is not None
    person = referral.person_id
    building = session.scalar(
        select(Building.code).join(Case, Case.residence_building_id == Building.id).limit(1)
    )
    pages = [
        f"/overview?day={day}",
        f"/overview/coordination?day={day}",
        "/referrals?status=all",
        "/referrals?box=outbox&status=all",
        "/referrals/board",
        f"/referrals/{handled}",
        "/referrals/new",
        "/zones?status=all",
        f"/zones/{area}",
        f"/resources?day={day}",
        f"/forecast?day={day}",
        f"/bulletin?day={day}",
        f"/cases?first={START_DAY.isoformat()}&last={day}",
        f"/cases/{case}",
        f"/cases/{contact_case}",
        "/contacts",
        "/contacts?status=became_case",
        "/quarantine",
        f"/quarantine/{order}",
        "/clusters",
        f"/clusters/{cluster}",
        f"/screening?day={day}",
        f"/screening/missed?building={building}&day={day}",
        "/lab",
        f"/lab/batches/{batch}",
        "/line-lists",
        "/line-lists?kind=contacts",
        f"/search?q={handled}",
        f"/persons/{person}",
        "/public/zones",
    ]
    log_in(app_client, session, role=Role.command)
    offenders: dict[str, list[str]] = {}
    for lang in ("zh", "en"):
        for path in pages:
            joiner = "&" if "?" in path else "?"
            page = app_client.get(f"{path}{joiner}lang={lang}")
            assert page.status_code == 200, (path, page.text[:500])
            words = untranslated(page.text, lang)
            if words:
                offenders[f"{lang} {path}"] = words
    assert not offenders, "\n".join(f"{page}: {words}" for page, words in offenders.items())


def test_the_guard_sees_a_code_word_and_an_english_list_with_the_chinese_comma() -> None:
    assert untranslated("<td>residential</td>", "zh") == ["residential"]
    assert untranslated('<td title="close contact of case 7">x</td>', "zh") == [
        "close contact of case"
    ]
    assert untranslated("<td>Yuzhong、Jiangbei</td>", "en") == ["、 in 'Yuzhong、Jiangbei'"]
    assert untranslated("<td>forecast_model</td>", "en") == ["forecast_model"]
    assert untranslated("<td data-written>已找到人、管住人: located</td>", "zh") == []
    assert untranslated("<td data-written>close contact of case 7</td>", "zh") == [
        "close contact of case"
    ]
    chinese_passage = '<pre lang="zh-Hans">渝中区、江北区</pre><code>tube_code</code>'
    assert untranslated(chinese_passage, "en") == []
    assert untranslated("<script>var pushed = 1</script><td>已签收</td>", "zh") == []


def test_a_refused_rows_reason_from_the_intake_reads_in_chinese_and_stays_in_english() -> None:
    assert row_reason("zh", "unknown tube") == "无此管码"
    assert row_reason("en", "unknown tube") == "unknown tube"
    assert row_reason("zh", "must be between 0 and 45") == "须在 0 与 45 之间"
    assert row_reason("zh", "line 3") == "第 3 行"
    assert row_reason("zh", "a reason nobody wrote down") == "a reason nobody wrote down"
