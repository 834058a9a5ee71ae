"""Lists as CSV files that Excel opens with the Chinese intact (UTF-8 with a byte-order mark)
and that cannot run a formula: a text cell starting with = + - @ or a control character is
written with a leading apostrophe (the OWASP advice on CSV injection). Every export is audited.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import quote

from fastapi.responses import Response
from sqlalchemy.orm import Session

from xietong.auth import service as auth_service
from xietong.core.principal import Principal

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    """One value as a safe cell: numbers as they are, text that could be a formula quoted."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([cell(h) for h in header])
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return out.getvalue()


def csv_response(
    session: Session,
    *,
    principal: Principal,
    name: str,
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    person_ids: Sequence[int] = (),
    detail: Mapping[str, object] | None = None,
) -> Response:
    """The rows as a CSV download named `name`.csv, with an audit row for the export and one
    for each person in it."""
    auth_service.record_audit(
        session,
        principal=principal,
        action="export",
        entity="list",
        entity_ids=[name],
        detail={"rows": len(rows), **(detail or {})},
    )
    auth_service.record_audit(
        session,
        principal=principal,
        action="export",
        entity="person",
        entity_ids=list(person_ids),
        reason=f"export of {name}",
    )
    filename = f"{name}.csv"
    return Response(
        csv_text(header, rows).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"; '
            f"filename*=UTF-8''{quote(filename)}",
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
