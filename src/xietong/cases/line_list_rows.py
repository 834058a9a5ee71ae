"""Line lists a row at a time: each row through the single operations (`create_case`,
`create_link`, `clusters.add_case`, `register_contact`) under its own savepoint, so that a row
refused by a rule the database checks leaves nothing behind. The reference the batch path
(`line_lists`) is held to, in the tests and the benchmark; the same report and refusals.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError
from sqlalchemy.orm import Session

from xietong.cases.clusters import service as cluster_service
from xietong.cases.contacts.service import register_contact
from xietong.cases.line_lists import (
    COLUMNS,
    REQUIRED,
    LineListKind,
    LineListReport,
    Sender,
    fields_of,
    line_list_report,
    whole_number,
)
from xietong.cases.links.service import create_link
from xietong.cases.models import Case
from xietong.cases.schemas import CaseCreate, ContactCreate, LinkCreate
from xietong.cases.service import create_case
from xietong.core.clock import DEFAULT_TZ
from xietong.core.csvfiles import read_records
from xietong.core.errors import DomainError, RowError, ValidationFailed
from xietong.core.principal import Permission, Principal
from xietong.people import service as people_service
from xietong.people.protection import PersonalDataProtector


def read_line_list_by_row(
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
    """`line_lists.read_line_list`, a row at a time."""
    principal.require(Permission.write_persons)
    register = _case_row if kind == "cases" else _contact_row
    sender = Sender(session, principal, protector, now, tz)
    records = list(read_records(stream, required=REQUIRED[kind], optional=list(COLUMNS[kind])))
    errors: dict[int, list[RowError]] = {}
    registered: dict[int, int] = {}
    for line, record in records:
        problems = _register_row(
            sender, register=register, line=line, record=record, registered=registered
        )
        if problems:
            errors[line] = problems
    return line_list_report(
        kind, records, errors, registered, load_valid=load_valid, rejects_path=rejects_path
    )


RowRegistration = Callable[["Sender", dict[str, str]], int]


def _register_row(
    sender: Sender,
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
        return whole_number(values["person_id"], "person_id")
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


def _case_row(sender: Sender, values: dict[str, str]) -> int:
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
    case_in = CaseCreate.model_validate({**fields_of(CaseCreate, values), "person_id": person_id})
    case = create_case(
        sender.session, principal=sender.principal, case_in=case_in, now=sender.now, tz=sender.tz
    )
    if "source_case_id" in values:
        _link_to_source(sender, case=case, values=values)
    if "cluster_id" in values:
        cluster_service.add_case(
            sender.session,
            principal=sender.principal,
            cluster_id=whole_number(values["cluster_id"], "cluster_id"),
            case_id=case.id,
            day=case.report_day,
            now=sender.now,
        )
    return case.id


def _link_to_source(sender: Sender, *, case: Case, values: dict[str, str]) -> None:
    """The case's source: linked, or proposed to the source's district when the caller does not
    see that case (as a link made by hand)."""
    link_in = LinkCreate.model_validate(
        {
            "source_case_id": whole_number(values["source_case_id"], "source_case_id"),
            "target_case_id": case.id,
            "evidence_kind": values.get("source_evidence_kind", "contact_tracing"),
            "evidence": values.get("source_evidence", "line list"),
        }
    )
    create_link(sender.session, principal=sender.principal, link_in=link_in, now=sender.now)


def _contact_row(sender: Sender, values: dict[str, str]) -> int:
    contact = register_contact(
        sender.session,
        principal=sender.principal,
        protector=sender.protector,
        case_id=whole_number(values["case_id"], "case_id"),
        contact_in=ContactCreate.model_validate(fields_of(ContactCreate, values)),
        now=sender.now,
        tz=sender.tz,
    )
    return contact.id
