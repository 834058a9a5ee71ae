"""The bulletin to print and as a PDF: the page's print layout drops the navigation and the
controls on A4 and keeps tables whole; the PDF, read back as text, carries the districts' names in
Chinese and the reference figures; without its font it says what is missing."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import Engine
from sqlalchemy.orm import Session

import xietong.web
from tests.factories.analytics import import_official, reference_14_nov_rows
from tests.factories.web import log_in
from xietong.api.app import create_app
from xietong.api.deps import get_read_session, get_session
from xietong.config import Settings
from xietong.core.principal import Role
from xietong.reports import service as reports_service
from xietong.reports.pdf import DEFAULT_FONT, FontMissing, bulletin_pdf

pytestmark = pytest.mark.skipif(not DEFAULT_FONT.is_file(), reason="fonts-wqy-microhei")
DAY = date(2022, 11, 14)


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_the_print_layout_is_a4_without_navigation_and_keeps_tables_whole() -> None:
    css = (Path(xietong.web.__file__).parent / "static" / "app.css").read_text(encoding="utf-8")
    printed = css.split("@media print", 1)[1]
    assert "size: A4" in printed
    hidden = printed.split("display: none", 1)[0]
    for selector in (".topbar", ".no-print", "footer", "form"):
        assert selector in hidden
    assert "break-inside: avoid" in printed and "table" in printed


def test_the_bulletin_page_offers_print_and_pdf(app_client: TestClient, session: Session) -> None:
    import_official(session, reference_14_nov_rows())
    log_in(app_client, session, role=Role.viewer)
    page = app_client.get("/bulletin?day=2022-11-14&until=18")
    assert 'id="bulletin-pdf"' in page.text and "/bulletin.pdf?" in page.text
    assert "data-print" in page.text
    assert '<form class="filters no-print"' in page.text


def test_the_pdf_carries_the_districts_in_chinese_and_the_reference_figures(
    app_client: TestClient, session: Session
) -> None:
    import_official(session, reference_14_nov_rows())
    log_in(app_client, session, role=Role.viewer)
    download = app_client.get("/bulletin.pdf?day=2022-11-14&until=18")
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"].endswith('-18h-zh-Hans.pdf"')
    assert download.content.startswith(b"%PDF-")
    text = pdf_text(download.content)
    for name in ("沙坪坝区", "垫江县", "巴南区", "万盛经开区", "渝中区"):
        assert name in text
    assert "疫情通报 · 2022-11-14" in text
    api = app_client.get("/api/reports/bulletin?date=2022-11-14&until=18:00&format=pdf")
    assert api.status_code == 200 and api.headers["content-type"] == "application/pdf"
    assert "沙坪坝区" in pdf_text(api.content)


def test_the_pdf_in_traditional_chinese_and_in_english(session: Session) -> None:
    import_official(session, reference_14_nov_rows())
    for lang, name in (("zh-Hant", "沙坪壩區"), ("en", "Shapingba")):
        bulletin = reports_service.bulletin(
            session, day=DAY, lang=lang, until_minute=18 * 60, tz="Asia/Shanghai"
        )
        assert name in pdf_text(bulletin_pdf(bulletin))


def test_without_its_font_the_pdf_says_what_is_missing(
    settings: Settings, engine: Engine, session: Session, tmp_path: Path
) -> None:
    import_official(session, reference_14_nov_rows())
    bulletin = reports_service.bulletin(
        session, day=DAY, lang="zh-Hans", until_minute=18 * 60, tz="Asia/Shanghai"
    )
    missing = tmp_path / "no-such-font.ttc"
    with pytest.raises(FontMissing, match="fonts-wqy-microhei"):
        bulletin_pdf(bulletin, font=missing)
    app = create_app(settings.model_copy(update={"pdf_font": missing}), engine=engine)

    def same_session() -> Iterator[Session]:
        with session.begin_nested():
            yield session

    app.dependency_overrides[get_session] = same_session
    app.dependency_overrides[get_read_session] = same_session
    with TestClient(app) as client:
        log_in(client, session, role=Role.viewer)
        page = client.get("/bulletin.pdf?day=2022-11-14&until=18")
        assert page.status_code == 503
        assert "fonts-wqy-microhei" in page.text and "XIETONG_PDF_FONT" in page.text
        api = client.get("/api/reports/bulletin?date=2022-11-14&until=18:00&format=pdf")
        assert api.status_code == 503
        assert api.json()["error"]["code"] == "pdf_font_missing"
