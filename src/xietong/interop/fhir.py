"""FHIR R4 laboratory results: a Bundle of DiagnosticReport, Observation and Specimen resources
mapped to the screening intake's records, and the OperationOutcome that answers it. Pure: no
database. Each resource is validated with `fhir.resources` (R4B, whose resources used here are
R4's), and every problem names its entry (`Bundle.entry[3].resource.valueCodeableConcept`).

One result per Observation with a SARS-CoV-2 RNA presence code: its value (SNOMED CT) is the
outcome, its specimen's identifier the tube code; a cycle-threshold Observation of the same
specimen gives the Ct. The laboratory is the Observation's (or its report's) performer, the time
its (or its report's) `issued`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.specimen import Specimen
from pydantic import ValidationError

from xietong.interop import codes

RESOURCES: dict[str, Any] = {
    "DiagnosticReport": DiagnosticReport,
    "Observation": Observation,
    "Specimen": Specimen,
}
# Resources a laboratory's bundle may carry that say nothing about the tube's result.
IGNORED = {
    "Patient",
    "Organization",
    "Practitioner",
    "PractitionerRole",
    "ServiceRequest",
    "Device",
}
ACCEPTED_STATUSES = {"final", "corrected", "amended"}


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem of one entry: FHIR's issue code, where (a FHIRPath), and why."""

    entry: int
    code: str
    expression: str
    diagnostics: str


@dataclass(slots=True)
class BundleReading:
    records: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    owners: list[int] = field(default_factory=list)  # the entry of each record
    issues: list[Issue] = field(default_factory=list)


def _where(entry: int, path: str = "") -> str:
    return f"Bundle.entry[{entry}].resource" + (f".{path}" if path else "")


def _coding(concept: Any, system: str) -> tuple[str, str] | None:
    """The first coding of `concept` in `system` (code, system), or the first coding at all."""
    codings = list(getattr(concept, "coding", None) or [])
    for coding in codings:
        if coding.system == system and coding.code:
            return str(coding.code), system
    if codings and codings[0].code:
        return str(codings[0].code), str(codings[0].system or "")
    return None


def _performer(resource: Any) -> str:
    for reference in getattr(resource, "performer", None) or []:
        identifier = getattr(reference, "identifier", None)
        if identifier is not None and identifier.value:
            return str(identifier.value)
        if reference.display:
            return str(reference.display)
    return ""


def read_bundle(bundle: Mapping[str, Any]) -> BundleReading:
    """Validate a Bundle's resources and map its results to intake records."""
    reading = BundleReading()
    if bundle.get("resourceType") != "Bundle":
        reading.issues.append(Issue(-1, "structure", "Bundle", "the body must be a FHIR Bundle"))
        return reading
    entries = bundle.get("entry") or []
    if not isinstance(entries, list) or not entries:
        reading.issues.append(Issue(-1, "required", "Bundle.entry", "the Bundle has no entries"))
        return reading
    parsed: dict[int, Any] = {}
    by_reference: dict[str, int] = {}
    for k, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if isinstance(entry, Mapping) and entry.get("fullUrl"):
            by_reference[str(entry["fullUrl"])] = k
        if isinstance(resource, Mapping) and resource.get("id"):
            by_reference[f"{resource.get('resourceType')}/{resource['id']}"] = k
    tainted: set[int] = set()
    for k, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if not isinstance(resource, Mapping):
            reading.issues.append(Issue(k, "required", _where(k), "the entry has no resource"))
            continue
        kind = resource.get("resourceType")
        if kind in IGNORED:
            continue
        model = RESOURCES.get(str(kind))
        if model is None:
            reading.issues.append(
                Issue(
                    k,
                    "not-supported",
                    _where(k),
                    f"a {kind} is not a laboratory result (DiagnosticReport, Observation, "
                    "Specimen)",
                )
            )
            continue
        try:
            parsed[k] = model.model_validate(resource)
        except ValidationError as exc:
            for error in exc.errors():
                path = ".".join(str(p) for p in error["loc"] if p != "__root__")
                reading.issues.append(Issue(k, "structure", _where(k, path), error["msg"]))
            # A broken observation spoils its specimen's result; a broken specimen, itself.
            specimen = resource.get("specimen")
            reference = specimen.get("reference") if isinstance(specimen, Mapping) else None
            tainted.add(by_reference.get(str(reference), k) if reference else k)
    reports = {k: r for k, r in parsed.items() if isinstance(r, DiagnosticReport)}
    report_of: dict[int, int] = {}
    for k, report in reports.items():
        for reference in report.result or []:
            target = by_reference.get(str(reference.reference))
            if target is not None:
                report_of[target] = k
    cts: dict[int, float] = {}
    presence: list[int] = []
    for k, resource in parsed.items():
        if isinstance(resource, Observation):
            _classify(k, resource, by_reference, parsed, cts, presence, tainted, reading)
    for k in presence:
        if _specimen_of(parsed[k], by_reference, parsed) in tainted:
            reading.issues.append(
                Issue(k, "invalid", _where(k), "another observation of its specimen is wrong")
            )
            continue
        _record(k, parsed, reports, report_of, by_reference, cts, reading)
    return reading


def _specimen_of(
    observation: Any, by_reference: Mapping[str, int], parsed: Mapping[int, Any]
) -> int | None:
    reference = getattr(observation.specimen, "reference", None)
    target = by_reference.get(str(reference)) if reference else None
    if target is None or not isinstance(parsed.get(target), Specimen):
        return None
    return target


def _classify(
    k: int,
    observation: Any,
    by_reference: Mapping[str, int],
    parsed: Mapping[int, Any],
    cts: dict[int, float],
    presence: list[int],
    tainted: set[int],
    reading: BundleReading,
) -> None:
    found = _coding(observation.code, codes.LOINC)
    if found is None:
        reading.issues.append(Issue(k, "required", _where(k, "code"), "the test is not coded"))
        return
    try:
        kind = codes.kind_of_test(*found)
    except codes.UnknownCode as exc:
        reading.issues.append(Issue(k, "code-invalid", _where(k, "code"), str(exc)))
        return
    if observation.status not in ACCEPTED_STATUSES:
        reading.issues.append(
            Issue(
                k,
                "value",
                _where(k, "status"),
                f"only final, corrected or amended results are taken (got {observation.status!r})",
            )
        )
        return
    if kind == "presence":
        presence.append(k)
        return
    specimen = _specimen_of(observation, by_reference, parsed)
    quantity = observation.valueQuantity
    value = None if quantity is None or quantity.value is None else float(quantity.value)
    if value is None or not 0.0 < value <= 50.0:
        reading.issues.append(
            Issue(k, "value", _where(k, "valueQuantity"), "a Ct between 0 and 50 is expected")
        )
        if specimen is not None:
            tainted.add(specimen)
        return
    if specimen is not None:
        cts[specimen] = min(value, cts.get(specimen, value))


def _record(
    k: int,
    parsed: Mapping[int, Any],
    reports: Mapping[int, Any],
    report_of: Mapping[int, int],
    by_reference: Mapping[str, int],
    cts: Mapping[int, float],
    reading: BundleReading,
) -> None:
    observation = parsed[k]
    report = reports.get(report_of.get(k, -1))
    found = _coding(observation.valueCodeableConcept, codes.SNOMED)
    if found is None:
        reading.issues.append(
            Issue(k, "required", _where(k, "valueCodeableConcept"), "the result is not coded")
        )
        return
    try:
        outcome = codes.result_outcome(*found).outcome
    except codes.UnknownCode as exc:
        reading.issues.append(Issue(k, "code-invalid", _where(k, "valueCodeableConcept"), str(exc)))
        return
    specimen_at = _specimen_of(observation, by_reference, parsed)
    if specimen_at is None:
        reading.issues.append(
            Issue(k, "required", _where(k, "specimen"), "no Specimen of this Bundle is referenced")
        )
        return
    specimen = parsed[specimen_at]
    identifiers = [i.value for i in (specimen.identifier or []) if i.value]
    accession = specimen.accessionIdentifier
    tube = identifiers[0] if identifiers else (accession.value if accession else None)
    if not tube or len(tube) > 40:
        reading.issues.append(
            Issue(
                specimen_at,
                "required",
                _where(specimen_at, "identifier"),
                "the specimen identifier (the tube code) is missing or longer than 40",
            )
        )
        return
    lab = _performer(observation) or (_performer(report) if report is not None else "")
    issued: datetime | None = observation.issued or (report.issued if report else None)
    if not lab or len(lab) > 40:
        reading.issues.append(
            Issue(k, "required", _where(k, "performer"), "the laboratory is missing or too long")
        )
        return
    if issued is None:
        reading.issues.append(Issue(k, "required", _where(k, "issued"), "the time is missing"))
        return
    ct = cts.get(specimen_at)
    reading.records.append(
        (str(tube), outcome, "" if ct is None else repr(ct), lab, issued.isoformat())
    )
    reading.owners.append(k)


def outcome(issues: Sequence[Issue], *, note: str) -> dict[str, Any]:
    """The OperationOutcome: an error per problem naming its entry, and a summary."""
    items: list[dict[str, Any]] = [
        {
            "severity": "error",
            "code": issue.code,
            "diagnostics": issue.diagnostics,
            "expression": [issue.expression],
        }
        for issue in issues
    ]
    items.append({"severity": "information", "code": "informational", "diagnostics": note})
    checked = OperationOutcome.model_validate({"resourceType": "OperationOutcome", "issue": items})
    dumped: dict[str, Any] = checked.model_dump(mode="json", exclude_none=True)
    return dumped


def result_bundle(
    results: Sequence[tuple[str, str, float | None, bool]],
    *,
    lab: str,
    issued: datetime,
    collected: datetime,
) -> dict[str, Any]:
    """A batch Bundle as a laboratory system sends it: per tube (code, outcome, Ct, pooled) a
    Specimen, a presence Observation, a Ct Observation when there is a Ct, and a report."""
    entries: list[dict[str, Any]] = []
    for k, (tube, result, ct, pooled) in enumerate(results):
        specimen, presence, cycle = f"urn:uuid:s-{k}", f"urn:uuid:o-{k}", f"urn:uuid:c-{k}"
        code = codes.OUTCOME_CODES[(result, pooled)]
        common = {
            "status": "final",
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                            "code": "laboratory",
                        }
                    ]
                }
            ],
            "specimen": {"reference": specimen},
            "performer": [{"identifier": {"value": lab}, "display": lab}],
            "issued": issued.isoformat(),
        }
        entries.append(
            {
                "fullUrl": specimen,
                "resource": {
                    "resourceType": "Specimen",
                    "identifier": [{"value": tube}],
                    "collection": {"collectedDateTime": collected.isoformat()},
                },
            }
        )
        entries.append(
            {
                "fullUrl": presence,
                "resource": {
                    "resourceType": "Observation",
                    **common,
                    "code": {"coding": [{"system": codes.LOINC, "code": "94500-6"}]},
                    "valueCodeableConcept": {
                        "coding": [
                            {
                                "system": codes.SNOMED,
                                "code": code,
                                "display": codes.RESULTS[code].display,
                            }
                        ]
                    },
                },
            }
        )
        members = [{"reference": presence}]
        if ct is not None:
            entries.append(
                {
                    "fullUrl": cycle,
                    "resource": {
                        "resourceType": "Observation",
                        **common,
                        "code": {"coding": [{"system": codes.LOINC, "code": "94746-5"}]},
                        "valueQuantity": {"value": ct, "unit": "{Ct}"},
                    },
                }
            )
            members.append({"reference": cycle})
        entries.append(
            {
                "fullUrl": f"urn:uuid:r-{k}",
                "resource": {
                    "resourceType": "DiagnosticReport",
                    "status": "final",
                    "code": {"coding": [{"system": codes.LOINC, "code": "94500-6"}]},
                    "issued": issued.isoformat(),
                    "performer": [{"display": lab}],
                    "specimen": [{"reference": specimen}],
                    "result": members,
                },
            }
        )
    return {"resourceType": "Bundle", "type": "batch", "entry": entries}
