"""FHIR bulk export: `$export` starts an asynchronous job, its status answers 202 until the
workers have run it and then the manifest; the NDJSON files hold only what the requester may
see, re-read by `fhir.resources` they validate, `_type` and `_since` narrow them, and the export
is audited."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.servicerequest import ServiceRequest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import interop as hl7f
from tests.factories import screening as f
from tests.factories.auth import command_user, district_user, make_user
from tests.functional.interop.test_hl7_results import scenario
from xietong.auth.models import AuditEntry
from xietong.config import Settings
from xietong.core.principal import SYSTEM, Role
from xietong.interop import bulk_export, service
from xietong.people.protection import PersonalDataProtector

MODELS = {
    "Patient": Patient,
    "Observation": Observation,
    "Condition": Condition,
    "ServiceRequest": ServiceRequest,
}


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, run_workers=False, export_dir=tmp_path / "exports")


@pytest.fixture
def outbreak(session: Session, protector: PersonalDataProtector) -> Iterator[list[int]]:
    """A positive pool (holds, referrals), a negative pool, an invalid tube, a positive single
    tube (a case), all sampled in 500103; the persons' ids."""
    codes, persons = scenario(session, protector)
    outcomes = [("positive", 27.5), ("negative", None), ("invalid", None), ("positive", 22.0)]
    answer = service.receive_hl7(
        session,
        principal=SYSTEM,
        messages=[
            hl7f.message(code, outcome, ct=ct)
            for code, (outcome, ct) in zip(codes, outcomes, strict=True)
        ],
        source="test",
        tz=f.TZ,
        now=f.NOW,
    )
    assert answer.accepted == 4
    yield persons


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Prefer": "respond-async"}


def export(
    client: TestClient, session: Session, settings: Settings, token: str, query: str = ""
) -> dict[str, list[dict[str, object]]]:
    """Kick off, see it queued, let the workers run it, read the manifest and every file."""
    started = client.get(f"/api/fhir/$export{query}", headers=auth(token))
    assert started.status_code == 202, started.text
    status_url = started.headers["Content-Location"]
    waiting = client.get(status_url, headers=auth(token))
    assert waiting.status_code == 202 and waiting.headers["X-Progress"] == "queued"
    assert (
        bulk_export.run_pending_exports(
            session, folder=settings.export_dir, now=f.NOW + timedelta(hours=1)
        )
        == 1
    )
    done = client.get(status_url, headers=auth(token))
    assert done.status_code == 200, done.text
    manifest = done.json()
    assert manifest["requiresAccessToken"] is True and manifest["error"] == []
    files: dict[str, list[dict[str, object]]] = {}
    for entry in manifest["output"]:
        got = client.get(entry["url"], headers=auth(token))
        assert got.status_code == 200
        assert got.headers["content-type"].startswith("application/fhir+ndjson")
        lines = [json.loads(line) for line in got.text.splitlines()]
        assert len(lines) == entry["count"]
        for line in lines:
            MODELS[entry["type"]].model_validate(line)  # re-read by fhir.resources
        files[entry["type"]] = lines
    return files


def test_a_district_exports_what_it_may_see_and_it_validates(
    app_client: TestClient, session: Session, settings: Settings, outbreak: list[int]
) -> None:
    _, token = district_user(session, "500106")
    files = export(app_client, session, settings, token)
    assert set(files) == {"Patient", "Observation", "Condition", "ServiceRequest"}
    # 500106 sees its residents (4 of the scenario's 7 live there) and those referred to it.
    patients = {int(str(p["id"])) for p in files["Patient"]}
    assert set(outbreak[1:2]) | set(outbreak[3:]) <= patients
    assert outbreak[0] not in patients
    # Only the masked national ID leaves the system.
    identifiers = [i for p in files["Patient"] for i in p["identifier"]]  # type: ignore[attr-defined]
    masked = [i["value"] for i in identifiers if i["system"] == "urn:xietong:national-id-masked"]
    assert masked and all("*" * 10 in value for value in masked)
    # Results were sampled in 500103: not 500106's to see.
    assert files["Observation"] == []
    referrals = files["ServiceRequest"]
    assert referrals and all(
        r["performer"][0]["identifier"]["value"] == "500106"  # type: ignore[index]
        for r in referrals
    )
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "export")).all()
    assert len(audit) == 1 and audit[0].detail is not None
    assert audit[0].detail["counts"]["Patient"] == len(files["Patient"])


def test_type_and_since_narrow_the_export(
    app_client: TestClient, session: Session, settings: Settings, outbreak: list[int]
) -> None:
    _, token = command_user(session)
    files = export(app_client, session, settings, token, "?_type=Observation,Condition")
    assert set(files) == {"Observation", "Condition"}
    assert len(files["Observation"]) >= 4 and len(files["Condition"]) >= 1
    pooled = [
        o
        for o in files["Observation"]
        if o["valueCodeableConcept"]["coding"][0]["code"] == "462371000124108"  # type: ignore[index]
    ]
    assert pooled
    later = (f.NOW + timedelta(days=1)).isoformat().replace("+00:00", "Z")
    nothing = export(app_client, session, settings, token, f"?_type=Observation&_since={later}")
    assert nothing == {"Observation": []}


def test_an_export_is_its_requesters_alone_and_roles_are_checked(
    app_client: TestClient, session: Session, settings: Settings, outbreak: list[int]
) -> None:
    _, mine = district_user(session, "500103")
    _, other = district_user(session, "500106")
    started = app_client.get("/api/fhir/$export?_type=Patient", headers=auth(mine))
    status_url = started.headers["Content-Location"]
    assert app_client.get(status_url, headers=auth(other)).status_code == 404
    assert app_client.delete(status_url, headers=auth(mine)).status_code == 202
    assert app_client.get(status_url, headers=auth(mine)).status_code == 404
    _, lab = make_user(session, role=Role.lab)
    refused = app_client.get("/api/fhir/$export?_type=Patient", headers=auth(lab))
    assert refused.status_code == 403
    files = export(app_client, session, settings, lab, "?_type=Observation")
    assert len(files["Observation"]) >= 4
    no_prefer = app_client.get("/api/fhir/$export", headers={"Authorization": f"Bearer {mine}"})
    assert no_prefer.status_code == 400
    unknown = app_client.get("/api/fhir/$export?_type=Encounter", headers=auth(mine))
    assert unknown.status_code == 422
