"""Audit complete: every GET route whose answer carries personal data (found from the OpenAPI
document, so a new route cannot be missed) writes audit rows when it answers with data."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.auth import command_user
from tests.factories.cases import add_contact, make_case
from tests.factories.referrals import make_referral
from tests.factories.zones import area, building, resident
from tests.functional.people.test_duplicates_find import person as registered
from xietong.auth.models import AuditEntry
from xietong.people.protection import PersonalDataProtector

# Fields that make an answer personal: a person's identity, contact details, or a reference to
# the person (an id names a record whose reads are audited).
PERSONAL_FIELDS = {"id_masked", "phone", "birth_date", "person_id", "person", "national_id"}


def _personal(spec: dict[str, Any], schema: Any, seen: set[str]) -> bool:
    if not isinstance(schema, dict):
        return False
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return False
        seen.add(name)
        return _personal(spec, spec["components"]["schemas"][name], seen)
    if PERSONAL_FIELDS & set(schema.get("properties", {})):
        return True
    parts = list(schema.get("properties", {}).values())
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            parts.append(schema[key])
    for key in ("anyOf", "allOf", "oneOf"):
        parts += schema.get(key, [])
    return any(_personal(spec, part, seen) for part in parts)


def personal_reads(spec: dict[str, Any]) -> set[str]:
    found = set()
    for path, operations in spec["paths"].items():
        get = operations.get("get")
        if get is None:
            continue
        content = get.get("responses", {}).get("200", {}).get("content", {})
        schema = content.get("application/json", {}).get("schema")
        if schema is not None and _personal(spec, schema, set()):
            found.add(path)
    return found


def _audit_rows(session: Session) -> int:
    return session.scalar(select(func.count(AuditEntry.id))) or 0


def test_every_read_of_personal_data_is_audited(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    _, token = command_user(session)
    headers = {"Authorization": f"Bearer {token}"}
    case = make_case(session, protector, district_code="500106")
    contact = add_contact(session, protector, case)
    referral = make_referral(session, protector)
    home = building(session, "500106", 2)
    resident(session, protector, home)
    risk = area(session, home)
    # Two records that may be one person: the queue of duplicates shows both.
    for _ in range(2):
        registered(session, protector, name="重复", district="500106")
    assert app_client.post("/api/people/duplicates/find", headers=headers).status_code == 200
    from xietong.cases.models import QuarantineOrder

    order = session.scalars(
        select(QuarantineOrder).where(QuarantineOrder.contact_id == contact.id)
    ).one()
    ids = {
        "person_id": str(case.person_id),
        "case_id": str(case.id),
        "contact_id": str(contact.id),
        "order_id": str(order.id),
        "referral_id": str(referral.id),
        "area_id": str(risk.id),
    }
    spec = app_client.get("/api/openapi.json").json()
    routes = personal_reads(spec)
    # The list this test was written for; a new personal route must be added here and audited.
    assert routes == {
        "/api/people",
        "/api/people/{person_id}",
        "/api/people/duplicates",
        "/api/zones/persons/{person_id}",
        "/api/zones/{area_id}/residents",
        "/api/screening/retests",
        "/api/cases",
        "/api/cases/{case_id}",
        "/api/cases/{case_id}/contacts",
        "/api/cases/contacts",
        "/api/cases/contacts/{contact_id}",
        "/api/cases/quarantine-orders",
        "/api/cases/quarantine-orders/{order_id}",
        "/api/referrals",
        "/api/referrals/{referral_id}",
    } | (routes & {"/api/cases/clusters", "/api/cases/clusters/{cluster_id}"})
    silent, emptied = [], []
    for path in sorted(routes):
        if "{cluster_id}" in path:
            continue  # clusters list case ids only; covered by the case reads they lead to
        url = path
        for name, value in ids.items():
            url = url.replace("{" + name + "}", value)
        before = _audit_rows(session)
        answer = app_client.get(url, headers=headers)
        assert answer.status_code == 200, (url, answer.text)
        body = answer.json()
        empty = (isinstance(body, dict) and body.get("items") == []) or body == []
        if empty:
            emptied.append(path)
        elif _audit_rows(session) == before:
            silent.append(path)
    assert silent == []
    # Only the lists this data does not fill may answer empty.
    assert set(emptied) <= {"/api/screening/retests", "/api/cases/clusters"}, emptied
