"""Line lists: cases and close contacts sent as CSV by a district's epidemiologists, registered
as one batch through the rules of one registered by hand (`registration`, `contacts.batch`),
linked to a case already known (its source, `links.batch`, or the case a contact was exposed to)
or to a cluster.

A file is taken whole or not at all; with `load_valid` its good rows are kept and the bad ones
returned (line, field, reason) and written to a rejects file. Every row is checked before
anything is written, each against the rows above it as if they were registered already (a
person twice in a list is refused on its second line), so a refused row leaves nothing behind;
the state the rules read is read a statement per table for the whole file, and the rows are
written in bulk. `line_list_rows` registers a list a row at a time through the single
operations: the reference this path is held to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal, TextIO

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from xietong.cases import registration
from xietong.cases.clusters import service as cluster_service
from xietong.cases.contacts import batch as contact_batch
from xietong.cases.links.batch import link_cases
from xietong.cases.schemas import CaseCreate, ContactCreate, LinkCreate
from xietong.core.clock import DEFAULT_TZ
from xietong.core.csvfiles import RejectsWriter, read_records
from xietong.core.errors import ErrorList, RowError, ValidationFailed
from xietong.core.principal import Permission, Principal
from xietong.people import service as people_service
from xietong.people.protection import PersonalDataProtector
from xietong.people.service import Person
from xietong.storage.bulk_sql import chunks

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


@dataclass(frozen=True)
class Sender:
    """Who sends the list, and when: what every row is registered with."""

    session: Session
    principal: Principal
    protector: PersonalDataProtector
    now: datetime
    tz: str


Record = tuple[int, dict[str, str]]
# Per line: the errors of a bad row; the registered record's id of a good one.
Outcome = tuple[dict[int, list[RowError]], dict[int, int]]


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
    """Register every row of a line list of `kind` as one batch; refuse the whole file on any
    bad row unless `load_valid`, naming each bad row's line, field and reason."""
    principal.require(Permission.write_persons)
    sender = Sender(session, principal, protector, now, tz)
    columns = list(COLUMNS[kind])
    records = list(read_records(stream, required=REQUIRED[kind], optional=columns))
    load = _load_cases if kind == "cases" else _load_contacts
    errors, registered = load(sender, records, load_valid=load_valid)
    return line_list_report(
        kind,
        records,
        errors,
        registered,
        load_valid=load_valid,
        rejects_path=rejects_path,
    )


def line_list_report(
    kind: LineListKind,
    records: Sequence[Record],
    errors: dict[int, list[RowError]],
    registered: dict[int, int],
    *,
    load_valid: bool,
    rejects_path: Path | None,
) -> LineListReport:
    """The report of a list read (the rejects written, in line order), or its refusal."""
    problems = ErrorList()
    rejects = (
        RejectsWriter(rejects_path, list(COLUMNS[kind])) if load_valid and rejects_path else None
    )
    try:
        for line, record in records:
            if line in errors:
                problems.extend(errors[line])
                if rejects is not None:
                    rejects.write(line, record, errors[line])
    finally:
        if rejects is not None:
            rejects.close()
    if problems and not load_valid:
        raise problems.refusal(f"line list of {kind} refused")
    return LineListReport(
        kind=kind,
        rows_read=len(records),
        rows_loaded=len(registered),
        rows_rejected=problems.count,
        registered=dict(sorted(registered.items())),
        rejects_file=str(rejects.path) if rejects is not None and rejects.count else None,
    )


def _load_cases(sender: Sender, records: Sequence[Record], *, load_valid: bool) -> Outcome:
    errors: dict[int, list[RowError]] = {}
    values = _cells(records, errors)
    persons = _persons_by_national_id(sender, [v.get("national_id") for v in values.values()])
    parsed: dict[int, CaseCreate] = {}
    for line, cells in values.items():
        try:
            parsed[line] = _case_in(cells, persons)
        except ValidationError as exc:
            errors[line] = _pydantic_errors(line, exc)
        except ValidationFailed as exc:
            errors[line] = _relabelled(line, exc.errors)
    lines = list(parsed)
    checked = registration.check_cases(
        sender.session,
        principal=sender.principal,
        cases=[parsed[line] for line in lines],
        now=sender.now,
    )
    good: dict[int, registration.NewCase] = {}
    for line, row in zip(lines, checked, strict=True):
        if isinstance(row, list):
            errors[line] = _relabelled(line, row)
        else:
            good[line] = row
    links, clusters = _case_columns(sender, values, good, errors)
    if errors and not load_valid:
        return errors, {}
    made = registration.write_cases(
        sender.session,
        principal=sender.principal,
        rows=list(good.values()),
        now=sender.now,
        tz=sender.tz,
    )
    case_of = {line: case for line, case in zip(good, made, strict=True)}
    linked = [line for line in good if line in links]
    try:
        link_cases(
            sender.session,
            principal=sender.principal,
            links=[
                links[line].model_copy(update={"target_case_id": case_of[line].id})
                for line in linked
            ],
            now=sender.now,
        )
    except ValidationFailed as exc:
        # Only a source named by a case of this very list can be refused here.
        raise ValidationFailed(
            errors=[
                RowError(
                    f"line {linked[int(e.record.split()[-1]) - 1]}", e.field, e.reason, e.value
                )
                for e in exc.errors
            ],
            summary="line list of cases refused",
        ) from None
    cluster_service.add_cases(
        sender.session,
        principal=sender.principal,
        members=[
            (clusters[line], case_of[line].id, case_of[line].report_day)
            for line in good
            if line in clusters
        ],
        now=sender.now,
    )
    return errors, {line: case.id for line, case in case_of.items()}


def _case_in(cells: dict[str, str], persons: dict[str, Person]) -> CaseCreate:
    """A row's case, its person named by `person_id` or by a `national_id` the caller sees."""
    if "person_id" in cells:
        person_id: int | None = whole_number(cells["person_id"], "person_id")
    elif "national_id" in cells:
        person = persons.get(cells["national_id"])
        if person is None:
            raise ValidationFailed(
                errors=[RowError("row", "national_id", "no such person in your jurisdiction")]
            )
        person_id = person.id
    else:
        raise ValidationFailed(
            errors=[RowError("row", "person_id", "a case needs person_id or national_id")]
        )
    return CaseCreate.model_validate({**fields_of(CaseCreate, cells), "person_id": person_id})


def _case_columns(
    sender: Sender,
    values: dict[int, dict[str, str]],
    good: dict[int, registration.NewCase],
    errors: dict[int, list[RowError]],
) -> tuple[dict[int, LinkCreate], dict[int, int]]:
    """The source and the cluster of each case that passed its checks (a bad one refuses its
    row): the link to make (its target set once the case is written) and the cluster id."""
    links: dict[int, LinkCreate] = {}
    clusters: dict[int, int] = {}
    for line in list(good):
        cells = values[line]
        try:
            if "source_case_id" in cells:
                links[line] = LinkCreate.model_validate(
                    {
                        "source_case_id": whole_number(cells["source_case_id"], "source_case_id"),
                        "target_case_id": 0,
                        "evidence_kind": cells.get("source_evidence_kind", "contact_tracing"),
                        "evidence": cells.get("source_evidence", "line list"),
                    }
                )
            if "cluster_id" in cells:
                clusters[line] = whole_number(cells["cluster_id"], "cluster_id")
        except ValidationError as exc:
            errors[line] = _pydantic_errors(line, exc)
        except ValidationFailed as exc:
            errors[line] = _relabelled(line, exc.errors)
        if line in errors:
            del good[line]
            links.pop(line, None)
            clusters.pop(line, None)
    refused = cluster_service.traced_problems(
        sender.session, principal=sender.principal, cluster_ids=list(clusters.values())
    )
    for line, cluster_id in list(clusters.items()):
        if cluster_id in refused:
            code, reason = refused[cluster_id]
            field = "cluster_id" if code == "cluster_not_found" else "record"
            errors[line] = [RowError(f"line {line}", field, reason)]
            del good[line], clusters[line]
            links.pop(line, None)
    return links, clusters


def _load_contacts(sender: Sender, records: Sequence[Record], *, load_valid: bool) -> Outcome:
    errors: dict[int, list[RowError]] = {}
    parsed: dict[int, contact_batch.ContactOfCase] = {}
    for line, cells in _cells(records, errors).items():
        try:
            case_id = whole_number(cells["case_id"], "case_id")
            contact_in = ContactCreate.model_validate(fields_of(ContactCreate, cells))
        except ValidationError as exc:
            errors[line] = _pydantic_errors(line, exc)
            continue
        except ValidationFailed as exc:
            errors[line] = _relabelled(line, exc.errors)
            continue
        parsed[line] = contact_batch.ContactOfCase(case_id, contact_in)
    lines = list(parsed)
    checked = contact_batch.check_contacts(
        sender.session,
        principal=sender.principal,
        protector=sender.protector,
        contacts=[parsed[line] for line in lines],
        now=sender.now,
        tz=sender.tz,
    )
    good: dict[int, contact_batch.CheckedContact] = {}
    for line, row in zip(lines, checked, strict=True):
        if isinstance(row, list):
            errors[line] = _relabelled(line, row)
        else:
            good[line] = row
    if errors and not load_valid:
        return errors, {}
    made = contact_batch.write_contacts(
        sender.session,
        principal=sender.principal,
        protector=sender.protector,
        rows=list(good.values()),
        now=sender.now,
    )
    return errors, {line: contact.id for line, contact in zip(good, made, strict=True)}


def _cells(
    records: Sequence[Record], errors: dict[int, list[RowError]]
) -> dict[int, dict[str, str]]:
    """Each well-formed record's filled cells, by line; a record of the wrong width is refused."""
    cells: dict[int, dict[str, str]] = {}
    for line, record in records:
        if "__width__" in record:
            errors[line] = [RowError(f"line {line}", "record", record["__width__"])]
        else:
            cells[line] = {name: value for name, value in record.items() if value != ""}
    return cells


def _persons_by_national_id(
    sender: Sender, national_ids: Sequence[str | None]
) -> dict[str, Person]:
    """The persons the caller may see among the national IDs of a list, looked up by their keyed
    hash for the whole list at once (each read audited)."""
    hashes = {n: sender.protector.hash_id(n) for n in national_ids if n}
    query = people_service.visible_persons(sender.principal, at=sender.now, with_merged=True)
    by_hash: dict[bytes, Person] = {}
    for part in chunks(sorted(set(hashes.values()))):
        by_hash.update(
            (p.id_hash, p) for p in sender.session.scalars(query.where(Person.id_hash.in_(part)))
        )
    found = {n: by_hash[h] for n, h in hashes.items() if h in by_hash}
    people_service.audit_persons(
        sender.session,
        principal=sender.principal,
        action="read",
        ids=sorted({p.id for p in found.values()}),
        reason="line list",
    )
    return found


def _pydantic_errors(line: int, exc: ValidationError) -> list[RowError]:
    return [
        RowError(f"line {line}", ".".join(str(p) for p in e["loc"]) or "record", e["msg"])
        for e in exc.errors()
    ]


def _relabelled(line: int, errors: Sequence[RowError]) -> list[RowError]:
    return [RowError(f"line {line}", e.field, e.reason, e.value) for e in errors]


def fields_of(model: type[BaseModel], values: dict[str, str]) -> dict[str, str]:
    """The row's cells that are fields of `model` (the link columns are read apart)."""
    return {k: v for k, v in values.items() if k in model.model_fields}


def whole_number(text: str, column: str) -> int:
    if not text.isdigit():
        raise ValidationFailed(errors=[RowError("row", column, "must be a whole number", text)])
    return int(text)
