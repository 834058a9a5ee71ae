"""FHIR R4 resources for the bulk export, built from what the domains' services return, and the
NDJSON files they are written to. Pure apart from writing the files: no database.

Who is exported is decided by the services (each reads in the requester's jurisdiction); what
is shown of a person here: our person id and the masked national ID (the full number is never
stored, so it can never be exported), the districts, never a name or a phone number.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from xietong.interop import codes

TYPES = ("Patient", "Observation", "Condition", "ServiceRequest")
ID_SYSTEM = "urn:xietong:person"
MASKED_ID_SYSTEM = "urn:xietong:national-id-masked"
DISTRICT_SYSTEM = "urn:xietong:district"
TUBE_SYSTEM = "urn:xietong:tube"
# SNOMED CT 840539006: COVID-19, the disease (a confirmed case); an asymptomatic infection
# (無症狀感染者) has no code in the value sets we draw on and is exported as text.
COVID_19 = ("840539006", "Disease caused by severe acute respiratory syndrome coronavirus 2")


def _instant(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def patient(
    *, person_id: int, id_masked: str, residence_district: str, current_district: str
) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": str(person_id),
        "identifier": [
            {"system": ID_SYSTEM, "value": str(person_id)},
            {"system": MASKED_ID_SYSTEM, "value": id_masked},
        ],
        "address": [
            {"use": "home", "district": residence_district},
            {"use": "temp", "district": current_district},
        ],
    }


@dataclass(frozen=True)
class ResultRow:
    """A tube's result of record, as the screening service gives it."""

    tube_code: str
    district_code: str
    member_count: int
    outcome: str
    ct_value: float | None
    lab: str
    reported_at: datetime
    collected_at: datetime
    updated_at: datetime


def observation(row: ResultRow, *, number: int) -> dict[str, Any]:
    pooled = row.member_count > 1
    code = codes.OUTCOME_CODES[(row.outcome, pooled)]
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"result-{number}",
        "meta": {"lastUpdated": row.updated_at.isoformat()},
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
        "code": {
            "coding": [
                {"system": codes.LOINC, "code": "94500-6", "display": codes.TESTS["94500-6"][1]}
            ]
        },
        "effectiveDateTime": row.collected_at.isoformat(),
        "issued": row.reported_at.isoformat(),
        "performer": [{"display": row.lab}],
        "valueCodeableConcept": {
            "coding": [
                {"system": codes.SNOMED, "code": code, "display": codes.RESULTS[code].display}
            ]
        },
        "specimen": {
            "identifier": {"system": TUBE_SYSTEM, "value": row.tube_code},
            "display": f"{'pooled' if pooled else 'single'} tube of {row.member_count}",
        },
        "extension": [
            {
                "url": "urn:xietong:sampling-district",
                "valueCode": row.district_code,
            }
        ],
    }
    if row.ct_value is not None:
        resource["component"] = [
            {
                "code": {"coding": [{"system": codes.LOINC, "code": "94746-5"}]},
                "valueQuantity": {"value": row.ct_value, "unit": "{Ct}"},
            }
        ]
    return resource


def condition(
    *,
    case_id: int,
    person_id: int,
    classification: str,
    detected_at: datetime,
    report_district: str,
    found_under_control: bool,
) -> dict[str, Any]:
    concept: dict[str, Any] = (
        {"coding": [{"system": codes.SNOMED, "code": COVID_19[0], "display": COVID_19[1]}]}
        if classification == "confirmed"
        else {"text": "asymptomatic SARS-CoV-2 infection"}
    )
    return {
        "resourceType": "Condition",
        "id": f"case-{case_id}",
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }
            ]
        },
        "verificationStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": "confirmed",
                }
            ]
        },
        "code": concept,
        "subject": {"reference": f"Patient/{person_id}"},
        "recordedDate": detected_at.isoformat(),
        "note": [
            {
                "text": f"reported by {report_district}; "
                + ("found under control" if found_under_control else "found on the surface")
            }
        ],
    }


_REFERRAL_STATUS = {
    "pushed": "active",
    "acknowledged": "active",
    "located": "active",
    "controlled": "active",
    "closed": "completed",
    "declined": "on-hold",
}


def service_request(
    *,
    referral_id: int,
    person_id: int,
    status: str,
    reason: str,
    evidence: str,
    from_district: str,
    to_district: str,
    pushed_at: datetime,
    control_due_at: datetime,
) -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest",
        "id": f"referral-{referral_id}",
        "status": _REFERRAL_STATUS.get(status, "active"),
        "intent": "order",
        "code": {"text": f"locate and control ({reason})"},
        "subject": {"reference": f"Patient/{person_id}"},
        "authoredOn": pushed_at.isoformat(),
        "occurrenceDateTime": control_due_at.isoformat(),
        "requester": {"identifier": {"system": DISTRICT_SYSTEM, "value": from_district}},
        "performer": [{"identifier": {"system": DISTRICT_SYSTEM, "value": to_district}}],
        "reasonCode": [{"text": evidence}],
        "note": [{"text": f"referral status: {status}"}],
    }


def write_ndjson(path: Path, resources: Iterable[dict[str, Any]]) -> int:
    """One resource per line; the count written."""
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for resource in resources:
            out.write(json.dumps(resource, ensure_ascii=False, separators=(",", ":")))
            out.write("\n")
            count += 1
    return count
