"""The daily bulletin as an A4 PDF: its text as published, then the districts by count of new
confirmed cases and of new asymptomatic infections, set in a TrueType font that covers Chinese
(WenQuanYi Micro Hei by default, `XIETONG_PDF_FONT`), embedded as a subset. Made in the process
with fpdf2; nothing is fetched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from fpdf import FPDF
from fpdf.enums import TableCellFillMode

from xietong.core.errors import DomainError
from xietong.reports.schemas import BulletinRead, CountGroupRead

# fonts-wqy-microhei (Debian) puts its collection here; its first face is the proportional one.
DEFAULT_FONT: Final = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
_FAMILY = "bulletin"

# The PDF's own words, in the bulletin's language (the text itself comes rendered).
_WORDS: Final[dict[str, dict[str, str]]] = {
    "zh-Hans": {
        "title": "疫情通报",
        "confirmed": "新增本土确诊病例",
        "asymptomatic": "新增本土无症状感染者",
        "count": "例数",
        "districts": "区县",
        "none": "无",
        "period": "统计时段",
    },
    "zh-Hant": {
        "title": "疫情通報",
        "confirmed": "新增本土確診病例",
        "asymptomatic": "新增本土無症狀感染者",
        "count": "例數",
        "districts": "區縣",
        "none": "無",
        "period": "統計時段",
    },
    "en": {
        "title": "Daily bulletin",
        "confirmed": "New local confirmed cases",
        "asymptomatic": "New local asymptomatic infections",
        "count": "Count",
        "districts": "Districts",
        "none": "none",
        "period": "Period",
    },
}


class FontMissing(DomainError):
    """The font the PDF is set in is not on this machine."""

    status_code = 503
    code = "pdf_font_missing"


def _document(font: Path) -> FPDF:
    if not font.is_file():
        raise FontMissing(
            f"the bulletin's PDF needs a font that covers Chinese, and {font} is not there: "
            "install fonts-wqy-microhei, or set XIETONG_PDF_FONT to a .ttf or .ttc file"
        )
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_margins(18, 16, 18)
    pdf.set_auto_page_break(auto=True, margin=16)
    # Table headings are set in the "bold" style; one face serves both.
    for style in ("", "B"):
        pdf.add_font(_FAMILY, style=style, fname=str(font), collection_font_number=0)
    return pdf


def _groups(pdf: FPDF, heading: str, groups: list[CountGroupRead], words: dict[str, str]) -> None:
    pdf.set_font(_FAMILY, size=12)
    pdf.ln(3)
    pdf.cell(text=heading, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    pdf.set_font(_FAMILY, size=10)
    separator = ", " if words is _WORDS["en"] else "、"
    with pdf.table(
        col_widths=(18, 156),
        text_align=("RIGHT", "LEFT"),
        cell_fill_color=245,
        cell_fill_mode=TableCellFillMode.ROWS,
        line_height=6,
    ) as table:
        head = table.row()
        head.cell(words["count"])
        head.cell(words["districts"])
        if not groups:
            row = table.row()
            row.cell("0")
            row.cell(words["none"])
        for group in groups:
            row = table.row()
            row.cell(str(group.count))
            row.cell(separator.join(group.names))


def bulletin_pdf(bulletin: BulletinRead, *, font: Path = DEFAULT_FONT) -> bytes:
    """The bulletin as PDF bytes, or FontMissing when `font` is not a file."""
    words = _WORDS[bulletin.lang]
    pdf = _document(font)
    title = f"{words['title']} · {bulletin.day.isoformat()}"
    pdf.set_title(title)
    pdf.set_creator("xietong")
    pdf.add_page()
    pdf.set_font(_FAMILY, size=16)
    pdf.cell(text=title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(_FAMILY, size=9)
    period = f"{bulletin.start:%Y-%m-%d %H:%M} — {bulletin.end:%Y-%m-%d %H:%M}"
    pdf.cell(text=f"{words['period']}: {period}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font(_FAMILY, size=11)
    for paragraph in bulletin.text.split("\n"):
        if paragraph.strip():
            pdf.multi_cell(0, 6.5, paragraph, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1.5)
    _groups(pdf, words["confirmed"], bulletin.confirmed_groups, words)
    _groups(pdf, words["asymptomatic"], bulletin.asymptomatic_groups, words)
    return bytes(pdf.output())
