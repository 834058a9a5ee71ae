"""Line lists on screen: a district's cases or close contacts pasted from a spreadsheet (its
tab-separated cells, as a copy gives them) or sent as a CSV file, every row checked before
anything is written, and either registered as one batch or refused with every bad row's line,
field and reason.

Rows go through `flows.line_lists.import_line_list`, as the API's route does: the same rules as
one case or contact entered by hand, and the referrals of contacts living elsewhere opened at once.
"""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any

from fastapi import APIRouter, Form, UploadFile
from fastapi.responses import RedirectResponse, Response

from xietong.api.deps import SessionDep
from xietong.cases.line_lists import COLUMNS, REQUIRED, LineListKind
from xietong.core.errors import DomainError, RowError, ValidationFailed
from xietong.flows import line_lists
from xietong.people.protection import PersonalDataProtector
from xietong.web.pages.cases import CASE_ROLES
from xietong.web.pages.common import already_sent, error_page, guard
from xietong.web.rendering import render
from xietong.web.session import ViewerDep, check_csrf

router = APIRouter(include_in_schema=False)

Text = Annotated[str, Form()]
KINDS: tuple[LineListKind, ...] = ("cases", "contacts")


def _as_csv(pasted: str) -> str:
    """Pasted cells as CSV: a spreadsheet's copy separates cells by tabs; CSV text is kept."""
    first_line = pasted.lstrip("\ufeff").split("\n", 1)[0]
    if "\t" not in first_line:
        return pasted
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(csv.reader(io.StringIO(pasted), delimiter="\t"))
    return out.getvalue()


def _context(kind: str, **extra: Any) -> dict[str, Any]:
    chosen = kind if kind in KINDS else "cases"
    return {
        "kinds": KINDS,
        "kind": chosen,
        "columns": {k: COLUMNS[k] for k in KINDS},
        "required": {k: REQUIRED[k] for k in KINDS},
        "errors": [],
        "refused": None,
        "report": None,
        "pasted": "",
        "load_valid": False,
        **extra,
    }


@router.get("/line-lists")
def line_list_page(viewer: ViewerDep, session: SessionDep, kind: str = "cases") -> Response:
    return guard(
        viewer,
        session,
        lambda _: render(viewer, session, "line_lists.html", _context(kind)),
        roles=CASE_ROLES,
    )


@router.post("/line-lists")
def line_list_send(
    viewer: ViewerDep,
    session: SessionDep,
    file: UploadFile | None = None,
    kind: Text = "cases",
    pasted: Text = "",
    csrf: Text = "",
    load_valid: Text = "",
    form_key: Text = "",
) -> Response:
    """Register the rows (all or nothing, or the valid ones when asked) and show what came of
    each; a second submission of the same form only goes back to the page."""
    principal = viewer.principal
    if principal is None or principal.role not in CASE_ROLES:
        return guard(viewer, session, lambda _: Response(), roles=CASE_ROLES)
    chosen: LineListKind = "contacts" if kind == "contacts" else "cases"
    loading = load_valid == "1"
    try:
        check_csrf(viewer, csrf)
        text = _as_csv(pasted) if pasted.strip() else _uploaded(file)
        if not text.strip():
            raise ValidationFailed(
                errors=[RowError("form", "pasted", "nothing pasted and no file chosen")],
                summary=f"line list of {chosen} refused",
            )
        with session.begin_nested():
            if already_sent(viewer, session, form_key):
                return RedirectResponse(f"/line-lists?kind={chosen}", status_code=303)
            report = line_lists.import_line_list(
                session,
                principal=principal,
                protector=PersonalDataProtector.from_settings(viewer.settings),
                kind=chosen,
                stream=io.StringIO(text.lstrip("\ufeff")),
                now=viewer.now,
                tz=viewer.settings.timezone,
                load_valid=loading,
            )
    except ValidationFailed as refused:
        context = _context(
            chosen, errors=refused.errors, refused=refused, pasted=pasted, load_valid=True
        )
        return render(viewer, session, "line_lists.html", context, status_code=422)
    except UnicodeDecodeError:
        return error_page(
            viewer, session, DomainError("the file is not UTF-8 text", code="encoding")
        )
    except DomainError as exc:
        return error_page(viewer, session, exc)
    return render(viewer, session, "line_lists.html", _context(chosen, report=report))


def _uploaded(file: UploadFile | None) -> str:
    if file is None or not file.filename:
        return ""
    return file.file.read().decode("utf-8-sig")
