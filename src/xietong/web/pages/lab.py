"""The laboratory's work on screen: upload a results file (every bad row listed with its line,
field and reason; the valid rows loaded on request and the rejects kept for download), the
deliveries with their reports, conflicts resolved by picking the result of record with a
reason, and the resample and retest tasks.

Uploads go through `flows.intake.ingest_lab_results` and conflicts through
`screening.service.resolve_conflict`, as the API's routes do; the deliveries through
`screening.batches`.
"""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from xietong.api.deps import SessionDep
from xietong.core.errors import DomainError, ValidationFailed
from xietong.core.principal import Permission, Principal, Role
from xietong.flows import intake
from xietong.screening import batches
from xietong.screening import service as screening_service
from xietong.screening.schemas import ConflictResolve
from xietong.web.export import csv_response
from xietong.web.pages.common import act, admit, already_sent, error_page, guard
from xietong.web.pages.listing import ListPage, Paging
from xietong.web.rendering import render
from xietong.web.session import Viewer, ViewerDep, check_csrf

router = APIRouter(include_in_schema=False)

LAB_ROLES = (Role.lab, Role.command)
Text = Annotated[str, Form()]


def _lab_context(
    session: Session, viewer: Viewer, principal: Principal, *, limit: int, offset: int
) -> dict[str, Any]:
    items, total = batches.list_batches(session, principal=principal, limit=limit, offset=offset)
    conflicts, conflicts_total = screening_service.list_conflicts(
        session, principal=principal, status="open", limit=50, offset=0
    )
    resample, resample_total = screening_service.list_resample_tasks(
        session, principal=principal, status="open", limit=50, offset=0
    )
    retests: list[Any] = []
    retests_total = 0
    if principal.can(Permission.read_persons):
        retests, retests_total = screening_service.list_retest_tasks(
            session, principal=principal, status="open", limit=50, offset=0
        )
    return {
        "page": Paging(items, total, limit, offset),
        "conflicts": conflicts,
        "conflicts_total": conflicts_total,
        "resample": resample,
        "resample_total": resample_total,
        "retests": retests,
        "retests_total": retests_total,
        "errors": [],
        "refused": None,
        "load_valid": False,
    }


@router.get("/lab")
def lab_page(listing: ListPage) -> Response:
    viewer, session = listing.viewer, listing.session

    def build(principal: Principal) -> Response:
        context = _lab_context(
            session, viewer, principal, limit=listing.limit, offset=listing.offset
        )
        return render(viewer, session, "lab.html", context, query=listing.query({}))

    return listing.guard(build, roles=LAB_ROLES)


@router.post("/lab/upload")
def upload(
    viewer: ViewerDep,
    session: SessionDep,
    file: UploadFile,
    csrf: Text = "",
    load_valid: Text = "",
    form_key: Text = "",
) -> Response:
    """Results from a CSV file: whole or nothing, or the valid rows with the rejects kept."""
    principal = admit(viewer, session, roles=LAB_ROLES)
    if isinstance(principal, Response):
        return principal
    loading = load_valid == "1"
    name = file.filename or "upload.csv"
    try:
        check_csrf(viewer, csrf)
        with session.begin_nested(), tempfile.TemporaryDirectory() as folder:
            if already_sent(viewer, session, form_key):
                return RedirectResponse("/lab", status_code=303)
            rejects = Path(folder) / "rejects.csv"
            report = intake.ingest_lab_results(
                session,
                principal=principal,
                stream=io.TextIOWrapper(file.file, encoding="utf-8-sig", newline=""),
                source_name=name,
                tz=viewer.settings.timezone,
                now=viewer.now,
                load_valid=loading,
                rejects_path=rejects if loading else None,
            ).results
            if report.rows_rejected and rejects.exists():
                batches.keep_rejects(
                    session,
                    principal=principal,
                    batch_id=report.batch_id,
                    content=rejects.read_text(encoding="utf-8"),
                    rows=report.rows_rejected,
                )
    except ValidationFailed as refused:
        context = _lab_context(session, viewer, principal, limit=20, offset=0)
        context.update(
            {"errors": refused.errors, "refused": name, "load_valid": True, "message": refused}
        )
        return render(viewer, session, "lab.html", context, status_code=422)
    except UnicodeDecodeError:
        return error_page(
            viewer, session, DomainError(f"{name}: not a UTF-8 text file", code="encoding")
        )
    except DomainError as exc:
        return error_page(viewer, session, exc)
    return RedirectResponse(f"/lab/batches/{report.batch_id}", status_code=303)


@router.get("/lab/batches/{batch_id}")
def batch_page(batch_id: int, viewer: ViewerDep, session: SessionDep) -> Response:
    def build(principal: Principal) -> Response:
        batch = batches.get_batch(session, principal=principal, batch_id=batch_id)
        return render(viewer, session, "lab_batch.html", {"batch": batch})

    return guard(viewer, session, build, roles=LAB_ROLES)


@router.get("/lab/batches/{batch_id}/rejects.csv")
def batch_rejects(batch_id: int, viewer: ViewerDep, session: SessionDep) -> Response:
    """The rejected rows as the laboratory sent them, with line and reasons, to fix and resend."""

    def build(principal: Principal) -> Response:
        content = batches.rejects_of(session, principal=principal, batch_id=batch_id)

        rows = list(csv.reader(io.StringIO(content)))
        return csv_response(
            session,
            principal=principal,
            name=f"rejects-{batch_id}",
            header=rows[0] if rows else [],
            rows=rows[1:],
            detail={"batch_id": batch_id},
        )

    return guard(viewer, session, build, roles=LAB_ROLES)


@router.get("/lab/batches.csv")
def batches_csv(viewer: ViewerDep, session: SessionDep) -> Response:
    def build(principal: Principal) -> Response:
        items, _ = batches.list_batches(session, principal=principal, limit=5_000)
        return csv_response(
            session,
            principal=principal,
            name="lab-deliveries",
            header=[
                "id",
                "source",
                "submitted_by",
                "received_at",
                "rows_read",
                "applied",
                "unchanged",
                "conflicts",
                "rejected",
            ],
            rows=[
                [
                    b.id,
                    b.source,
                    b.submitted_by,
                    b.received_at.isoformat(),
                    b.rows_read,
                    b.applied,
                    b.unchanged,
                    b.conflicts,
                    b.rejected,
                ]
                for b in items
            ],
        )

    return guard(viewer, session, build, roles=LAB_ROLES)


@router.post("/lab/conflicts/{conflict_id}/resolve")
def resolve(
    conflict_id: int,
    viewer: ViewerDep,
    session: SessionDep,
    csrf: Text = "",
    keep: Text = "",
    note: Text = "",
    form_key: Text = "",
) -> Response:
    def run(principal: Principal) -> None:
        try:
            decision = ConflictResolve.model_validate({"keep": keep, "note": note.strip()})
        except ValueError as exc:
            raise ValidationFailed(summary=f"conflict {conflict_id}: {exc}") from exc
        screening_service.resolve_conflict(
            session, principal=principal, conflict_id=conflict_id, decision=decision, now=viewer.now
        )

    return act(viewer, session, csrf=csrf, action=run, back_to="/lab", form_key=form_key)
