"""Laboratory results in HL7 v2 and FHIR R4 fed to the screening intake flow (the same
idempotency, conflicts, positive-pool fan-out and referrals as a CSV file), one answer per
message or bundle entry. Takes the caller's session, flushes, never commits.

A delivery of many messages goes to the intake as one set of records: each message is read
once, and the intake applies them set-based. A message is the unit of acceptance: when the
intake refuses some records (an unknown tube, a result before its tube was taken), the messages
they came from are answered AE and the others are applied without them, in a second pass
under a savepoint; nothing of a refused message is written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from xietong.core.errors import PermissionDenied, RowError, ValidationFailed
from xietong.core.principal import Permission, Principal
from xietong.flows import intake
from xietong.interop import fhir, hl7v2
from xietong.screening.schemas import ResultBatchReport

# Problems the intake finds once the records meet the database, by the record's field.
_INTAKE_CODES = {
    "tube_code": hl7v2.UNKNOWN_KEY,
    "reported_at": hl7v2.DATA_TYPE_ERROR,
}


@dataclass
class Delivery:
    """What the intake made of a set of records: the report, what the consumers did, and for
    each refused source (a message, a bundle entry) its record's problems."""

    results: ResultBatchReport | None = None
    followed_up: dict[str, Any] = field(default_factory=dict)
    refused: dict[int, list[tuple[int, RowError]]] = field(default_factory=dict)


def require_lab_results(principal: Principal) -> None:
    if not principal.can(Permission.submit_lab_results):
        raise PermissionDenied(f"role {principal.role} may not submit laboratory results")


def feed_intake(
    session: Session,
    *,
    principal: Principal,
    records: Sequence[tuple[str, str, str, str, str]],
    owners: Sequence[int],
    describe: Callable[[int], str],
    source: str,
    tz: str,
    now: datetime,
) -> Delivery:
    """Apply `records` (record k comes from source `owners[k]`, named by `describe(k)`); the
    sources of records the intake refuses are left out whole and listed in `refused`."""
    delivery = Delivery()
    excluded: set[int] = set()
    for attempt in (1, 2):
        keep = [k for k in range(len(records)) if owners[k] not in excluded]
        if not keep:
            return delivery
        names: dict[str, int] = {}

        def label(line: int, keep: list[int] = keep, names: dict[str, int] = names) -> str:
            text = describe(keep[line])
            names[text] = keep[line]
            return text

        try:
            with session.begin_nested():
                report = intake.ingest_lab_results(
                    session,
                    principal=principal,
                    tz=tz,
                    now=now,
                    records=[records[k] for k in keep],
                    label=label,
                    source_name=source,
                )
        except ValidationFailed as exc:
            if attempt == 2:
                raise
            for error in exc.errors:
                k = names[error.record]
                delivery.refused.setdefault(owners[k], []).append((k, error))
                excluded.add(owners[k])
            continue
        delivery.results, delivery.followed_up = report.results, report.followed_up
        return delivery
    return delivery


@dataclass
class Hl7Answer:
    acks: list[str]
    accepted: int
    errors: int
    rejected: int
    results: ResultBatchReport | None
    followed_up: dict[str, Any]


def receive_hl7(
    session: Session,
    *,
    principal: Principal,
    messages: Sequence[str],
    source: str,
    tz: str,
    now: datetime,
) -> Hl7Answer:
    """Read ORU^R01 messages, apply their results through the intake, answer each with an ACK:
    AA (applied, or the same result again, or a differing one kept as a conflict), AE with the
    segment, field and reason of each problem, or AR for a message we do not take."""
    require_lab_results(principal)
    instants: dict[str, str] = {}
    readings = [hl7v2.read_message(m, instants=instants) for m in messages]
    records: list[tuple[str, str, str, str, str]] = []
    owners: list[int] = []
    where: list[hl7v2.Located] = []
    for index, reading in enumerate(readings):
        records.extend(reading.records)
        owners.extend([index] * len(reading.records))
        where.extend(reading.located)

    def describe(k: int) -> str:
        spm = where[k].tube_code[1]
        return f"message {owners[k] + 1} ({readings[owners[k]].control_id}) SPM[{spm}] #{k + 1}"

    delivery = feed_intake(
        session,
        principal=principal,
        records=records,
        owners=owners,
        describe=describe,
        source=source,
        tz=tz,
        now=now,
    )
    acks: list[str] = []
    counts = {"AA": 0, "AE": 0, "AR": 0}
    for index, reading in enumerate(readings):
        problems = list(reading.problems)
        for k, error in delivery.refused.get(index, []):
            located = where[k]
            segment, seq, number = getattr(located, error.field, located.tube_code)
            problems.append(
                hl7v2.Problem(
                    segment,
                    seq,
                    number,
                    1,
                    _INTAKE_CODES.get(error.field, hl7v2.DATA_TYPE_ERROR),
                    error.reason,
                    error.value,
                )
            )
        code = "AR" if reading.rejected else "AE" if problems else "AA"
        counts[code] += 1
        acks.append(
            hl7v2.ack(
                reading,
                code=code,
                at=now,
                control_id=f"ACK{reading.control_id}"[:199] or "ACK",
                problems=problems,
            )
        )
    return Hl7Answer(
        acks=acks,
        accepted=counts["AA"],
        errors=counts["AE"],
        rejected=counts["AR"],
        results=delivery.results,
        followed_up=delivery.followed_up,
    )


# Where in an entry the intake's refusals point, by the record's field.
_FHIR_PATHS = {"tube_code": ("specimen", "not-found"), "reported_at": ("issued", "value")}


@dataclass
class FhirAnswer:
    outcome: dict[str, Any]
    refused_entries: list[int]
    results: ResultBatchReport | None
    followed_up: dict[str, Any]


def receive_fhir(
    session: Session,
    *,
    principal: Principal,
    bundle: dict[str, Any],
    source: str,
    tz: str,
    now: datetime,
) -> FhirAnswer:
    """Validate a Bundle of laboratory results, apply its good results through the intake, and
    answer with an OperationOutcome naming each refused entry (the others are applied)."""
    require_lab_results(principal)
    reading = fhir.read_bundle(bundle)
    delivery = feed_intake(
        session,
        principal=principal,
        records=reading.records,
        owners=reading.owners,
        describe=lambda k: f"Bundle.entry[{reading.owners[k]}]",
        source=source,
        tz=tz,
        now=now,
    )
    issues = list(reading.issues)
    for entry, refusals in sorted(delivery.refused.items()):
        for _, error in refusals:
            path, code = _FHIR_PATHS.get(error.field, ("", "invalid"))
            issues.append(
                fhir.Issue(
                    entry, code, f"Bundle.entry[{entry}].resource.{path}".rstrip("."), error.reason
                )
            )
    report = delivery.results
    note = (
        "no result applied"
        if report is None
        else f"{report.applied} applied, {report.unchanged} unchanged, "
        f"{report.conflicts} kept as conflicts"
    )
    return FhirAnswer(
        outcome=fhir.outcome(issues, note=note),
        refused_entries=sorted({i.entry for i in issues}),
        results=report,
        followed_up=delivery.followed_up,
    )
