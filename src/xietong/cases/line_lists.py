"""Line lists: cases and close contacts sent as CSV by a district's epidemiologists, each row
through the same operation as one registered by hand (`create_case`, `register_contact`), linked
to a case already known (its source, or the case a contact was exposed to) or to a cluster.

A file is taken whole or not at all; with `load_valid` its good rows are kept and the bad ones
returned (line, field, reason) and written to a rejects file. Each row runs under its own
savepoint, so a row refused by a rule the database checks leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal, TextIO

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from xietong.cases.clusters import service as cluster_service
from xietong.cases.contacts.service import register_contact
from xietong.cases.links.service import create_link
from xietong.cases.models import Case
from xietong.cases.schemas import CaseCreate, ContactCreate, LinkCreate
from xietong.cases.service import create_case
from xietong.core.clock import DEFAULT_TZ
from xietong.core.csvfiles import RejectsWriter, read_records
from xietong.core.errors import DomainError, ErrorList, RowError, ValidationFailed
from xietong.core.principal import Permission, Principal
from xietong.people import service as people_service
from xietong.people.protection import PersonalDataProtector

LineListKind = Literal["cases", "contacts"]

# The columns of each kind: a person is named by `person_id` or `national_id`; the link columns
# name a case or cluster already registered.
CASE_COLUMNS = (
    "person_id",
    "national_id",
    "classification",
    "detected_at",
    "onset_day",
    "report_district_code",
    "found_building_code",
    "note",
    "source_case_id",
    "source_evidence_kind",
    "source_evidence",
    "cluster_id",
)
CONTACT_COLUMNS = (
    "case_id",
    "person_id",
    "national_id",
    "name",
    "phone",
    "residence_building_code",
    "residence_district_code",
    "exposure_kind",
    "exposure_building_code",
    "last_exposure_at",
    "quarantine_starts_on",
)
REQUIRED = {"cases": ("classification", "detected_at"), "contacts": ("case_id", "exposure_kind")}
COLUMNS = {"cases": CASE_COLUMNS, "contacts": CONTACT_COLUMNS}


class LineListReport(BaseModel):
    kind: LineListKind
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    # The case or contact registered from each loaded row, by line number.
    registered: dict[int, int]
    rejects_file: str | None = None


def read_line_list(
    session: Session,
    *,
    principal: Principal,
    protector: PersonalDataProtector,
    kind: LineListKind,
    stream: TextIO,
    now: datetime,
    tz: str = DEFAULT_TZ,
    load_valid: bool = False,
    rejects_path: Path | None = None,
) -> LineListReport:
    """Register every row of a line list of `kind`; refuse the whole file on any bad row unless
    `load_valid`, naming each bad row's line, field and reason."""
    principal.require(Permission.write_persons)
    register = _case_row if kind == "cases" else _contact_row
    sender = _Sender(session, principal, protector, now, tz)
    columns = list(COLUMNS[kind])
    records = read_records(stream, required=REQUIRED[kind], optional=columns)
    problems = ErrorList()
    rejects = RejectsWriter(rejects_path, columns) if load_valid and rejects_path else None
    registered: dict[int, int] = {}
    rows = 0
    try:
        for line, record in records:
            rows += 1
            errors = _register_row(
                sender, register=register, line=line, record=record, registered=registered
            )
            if errors:
                problems.extend(errors)
                if rejects is not None:
                    rejects.write(line, record, errors)
    finally:
        if rejects is not None:
            rejects.close()
    if problems and not load_valid:
        raise problems.refusal(f"line list of {kind} refused")
    return LineListReport(
        kind=kind,
        rows_read=rows,
        rows_loaded=len(registered),
        rows_rejected=problems.count,
        registered=registered,
        rejects_file=str(rejects.path) if rejects is not None and rejects.count else None,
    )


RowRegistration = Callable[["_Sender", dict[str, str]], int]


def _register_row(
    sender: _Sender,
    *,
    register: RowRegistration,
    line: int,
    record: dict[str, str],
    registered: dict[int, int],
) -> list[RowError]:
    where = f"line {line}"
    if "__width__" in record:
        return [RowError(where, "record", record["__width__"])]
    values = {name: value for name, value in record.items() if value != ""}
    savepoint = sender.session.begin_nested()
    try:
        registered[line] = register(sender, values)
    except ValidationError as exc:
        savepoint.rollback()
        return [
            RowError(where, ".".join(str(p) for p in e["loc"]) or "record", e["msg"])
            for e in exc.errors()
        ]
    except ValidationFailed as exc:
        savepoint.rollback()
        return [RowError(where, e.field, e.reason, e.value) for e in exc.errors]
    except DomainError as exc:
        savepoint.rollback()
        return [RowError(where, _field_of(exc), exc.message)]
    savepoint.commit()
    return []


def _field_of(exc: DomainError) -> str:
    """The column a domain refusal is about, from its machine code where it names one."""
    return {
        "case_not_found": "case_id",
        "case_exists": "person_id",
        "person_not_found": "person_id",
        "cluster_not_found": "cluster_id",
        "district_not_found": "report_district_code",
        "building_not_found": "found_building_code",
    }.get(exc.code, "record")


def _person_id(
    session: Session,
    *,
    values: dict[str, str],
    principal: Principal,
    protector: PersonalDataProtector,
    reason: str,
) -> int | None:
    """The person a row names by `person_id`, or by `national_id` within the caller's view."""
    if "person_id" in values:
        return _whole_number(values["person_id"], "person_id")
    if "national_id" not in values:
        return None
    try:
        person = people_service.find_by_national_id(
            session,
            principal=principal,
            protector=protector,
            national_id=values["national_id"],
            reason=reason,
        )
    except DomainError as exc:
        raise ValidationFailed(
            errors=[RowError("row", "national_id", exc.message)], summary="row refused"
        ) from None
    return person.id


@dataclass(frozen=True)
class _Sender:
    """Who sends the list, and when: what every row is registered with."""

    session: Session
    principal: Principal
    protector: PersonalDataProtector
    now: datetime
    tz: str


def _case_row(sender: _Sender, values: dict[str, str]) -> int:
    if "person_id" not in values and "national_id" not in values:
        raise ValidationFailed(
            errors=[RowError("row", "person_id", "a case needs person_id or national_id")]
        )
    person_id = _person_id(
        sender.session,
        values=values,
        principal=sender.principal,
        protector=sender.protector,
        reason="line list",
    )
    case_in = CaseCreate.model_validate({**_fields_of(CaseCreate, values), "person_id": person_id})
    case = create_case(
        sender.session, principal=sender.principal, case_in=case_in, now=sender.now, tz=sender.tz
    )
    if "source_case_id" in values:
        _link_to_source(sender, case=case, values=values)
    if "cluster_id" in values:
        cluster_service.add_case(
            sender.session,
            principal=sender.principal,
            cluster_id=_whole_number(values["cluster_id"], "cluster_id"),
            case_id=case.id,
            day=case.report_day,
            now=sender.now,
        )
    return case.id


def _link_to_source(sender: _Sender, *, case: Case, values: dict[str, str]) -> None:
    """The case's source: linked, or proposed to the source's district when the caller does not
    see that case (as a link made by hand)."""
    link_in = LinkCreate.model_validate(
        {
            "source_case_id": _whole_number(values["source_case_id"], "source_case_id"),
            "target_case_id": case.id,
            "evidence_kind": values.get("source_evidence_kind", "contact_tracing"),
            "evidence": values.get("source_evidence", "line list"),
        }
    )
    create_link(sender.session, principal=sender.principal, link_in=link_in, now=sender.now)


def _contact_row(sender: _Sender, values: dict[str, str]) -> int:
    contact = register_contact(
        sender.session,
        principal=sender.principal,
        protector=sender.protector,
        case_id=_whole_number(values["case_id"], "case_id"),
        contact_in=ContactCreate.model_validate(_fields_of(ContactCreate, values)),
        now=sender.now,
        tz=sender.tz,
    )
    return contact.id


def _fields_of(model: type[BaseModel], values: dict[str, str]) -> dict[str, str]:
    """The row's cells that are fields of `model` (the link columns are read apart)."""
    return {k: v for k, v in values.items() if k in model.model_fields}


def _whole_number(text: str, column: str) -> int:
    if not text.isdigit():
        raise ValidationFailed(errors=[RowError("row", column, "must be a whole number", text)])
    return int(text)
