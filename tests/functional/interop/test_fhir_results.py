"""FHIR R4 Bundles of DiagnosticReport, Observation and Specimen go through the same intake as
a CSV file; the answer is an OperationOutcome naming each refused entry."""

from __future__ import annotations

import io

from fastapi.testclient import TestClient
from fhir.resources.R4B.operationoutcome import OperationOutcome
from sqlalchemy.orm import Session

from tests.factories import interop as hl7f
from tests.factories import screening as f
from tests.factories.auth import make_user
from tests.functional.interop.test_hl7_results import OUTCOMES, effects, scenario
from xietong.core.principal import SYSTEM, Role
from xietong.flows import intake
from xietong.interop import fhir, service
from xietong.people.protection import PersonalDataProtector


def bundle(codes: list[str], outcomes: list[tuple[str, float | None]]) -> dict[str, object]:
    return fhir.result_bundle(
        [(code, outcome, ct, True) for code, (outcome, ct) in zip(codes, outcomes, strict=True)],
        lab="LAB-01",
        issued=hl7f.REPORTED_AT,
        collected=f.SAMPLED_AT,
    )


def receive(session: Session, body: dict[str, object]) -> service.FhirAnswer:
    return service.receive_fhir(
        session, principal=SYSTEM, bundle=body, source="test", tz=f.TZ, now=f.NOW
    )


def errors(answer: service.FhirAnswer) -> list[tuple[str, str]]:
    return [
        (issue["expression"][0], issue["diagnostics"])
        for issue in answer.outcome["issue"]
        if issue["severity"] == "error"
    ]


def test_a_bundle_with_a_positive_pool_sets_off_what_the_same_csv_does(
    session: Session, protector: PersonalDataProtector
) -> None:
    csv_codes, csv_persons = scenario(session, protector)
    fhir_codes, fhir_persons = scenario(session, protector)
    lines = ["tube_code,result,ct_value,lab,reported_at"]
    lines += [
        f"{code},{outcome},{'' if ct is None else ct},LAB-01,{hl7f.REPORTED_AT.isoformat()}"
        for code, (outcome, ct) in zip(csv_codes, OUTCOMES, strict=True)
    ]
    csv_report = intake.ingest_lab_results(
        session,
        principal=SYSTEM,
        stream=io.StringIO("\n".join(lines) + "\n"),
        source_name="r.csv",
        tz=f.TZ,
        now=f.NOW,
    )
    answer = receive(session, bundle(fhir_codes, OUTCOMES))
    assert errors(answer) == []
    OperationOutcome.model_validate(answer.outcome)
    assert answer.results is not None
    assert answer.results.model_dump(exclude={"batch_id"}) == csv_report.results.model_dump(
        exclude={"batch_id"}
    )
    assert effects(session, fhir_codes, fhir_persons) == effects(session, csv_codes, csv_persons)
    again = receive(session, bundle(fhir_codes, OUTCOMES))
    assert again.results is not None
    assert (again.results.applied, again.results.unchanged) == (0, 4)


def test_each_bad_entry_is_named_and_the_good_ones_are_applied(
    session: Session, protector: PersonalDataProtector
) -> None:
    codes, _ = scenario(session, protector)
    body = bundle([codes[0], codes[1], "NO-SUCH-TUBE"], [*OUTCOMES[:2], ("negative", None)])
    entries = body["entry"]
    assert isinstance(entries, list)
    # The first tube's result coded with the disease, not a result.
    entries[1]["resource"]["valueCodeableConcept"]["coding"][0]["code"] = "840539006"
    answer = receive(session, body)
    found = errors(answer)
    assert found[0][0] == "Bundle.entry[1].resource.valueCodeableConcept"
    assert "unknown SNOMED CT result code '840539006'" in found[0][1]
    unknown = [e for e in found if e[1] == "unknown tube"]
    assert unknown == [("Bundle.entry[8].resource.specimen", "unknown tube")]
    assert answer.results is not None and answer.results.applied == 1
    assert answer.refused_entries == [1, 8]
    OperationOutcome.model_validate(answer.outcome)


def test_laboratories_post_bundles_over_the_api(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    codes, _ = scenario(session, protector)
    _, lab_token = make_user(session, role=Role.lab)
    _, viewer_token = make_user(session, role=Role.viewer)
    body = bundle(codes[1:2], [("negative", None)])
    headers = {"Content-Type": "application/fhir+json"}
    refused = app_client.post(
        "/api/fhir", json=body, headers={**headers, "Authorization": f"Bearer {viewer_token}"}
    )
    assert refused.status_code == 403
    posted = app_client.post(
        "/api/fhir", json=body, headers={**headers, "Authorization": f"Bearer {lab_token}"}
    )
    assert posted.status_code == 200, posted.text
    outcome = posted.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][-1]["diagnostics"].startswith("1 applied")
    not_a_bundle = app_client.post(
        "/api/fhir",
        json={"resourceType": "Patient"},
        headers={**headers, "Authorization": f"Bearer {lab_token}"},
    )
    assert not_a_bundle.status_code == 400
    assert not_a_bundle.json()["issue"][0]["expression"] == ["Bundle"]
