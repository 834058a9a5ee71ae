"""Lines (線): links between cases with their evidence make chains; a link whose cases were
reported in different districts is a spillover (外溢), counted per pair of districts per day.

The worked example of docs/cases.md is `built_chain` below: the counts in that page are the
ones asserted here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.auth import command_user, district_user
from tests.factories.cases import DAY, add_contact, at, link, make_case
from xietong.cases.models import Case
from xietong.people.models import Person
from xietong.people.protection import PersonalDataProtector

SHAPINGBA, JIULONGPO, NAN_AN = "500106", "500107", "500108"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Chain:
    a: Case
    b: Case
    c: Case
    d: Case
    e: Case


@pytest.fixture
def built_chain(session: Session, protector: PersonalDataProtector) -> Chain:
    """A (沙坪壩, 14 Nov) infects B at home and C at work in 九龍坡 (15 Nov); C infects D at
    home (16 Nov); A infects E at a venue in 九龍坡 (16 Nov). B and D were under quarantine as
    registered contacts when found."""
    a = make_case(session, protector, district_code=SHAPINGBA, classification="confirmed")
    b_contact = add_contact(session, protector, a, starts_on=DAY)
    b = make_case(
        session,
        protector,
        person=session.get_one(Person, b_contact.person_id),
        detected_at=at(DAY + timedelta(1)),
    )
    c = make_case(
        session,
        protector,
        district_code=JIULONGPO,
        classification="confirmed",
        detected_at=at(DAY + timedelta(1)),
    )
    d_contact = add_contact(session, protector, c, starts_on=DAY + timedelta(1))
    d = make_case(
        session,
        protector,
        person=session.get_one(Person, d_contact.person_id),
        detected_at=at(DAY + timedelta(2)),
    )
    e = make_case(session, protector, district_code=JIULONGPO, detected_at=at(DAY + timedelta(2)))
    link(session, a, b, evidence_kind="household")
    link(session, a, c, evidence_kind="workplace")
    link(session, c, d, evidence_kind="household")
    link(session, a, e, evidence_kind="venue")
    return Chain(a, b, c, d, e)


def test_the_chain_export_gives_nodes_edges_and_the_counts(
    app_client: TestClient, session: Session, built_chain: Chain
) -> None:
    _, token = district_user(session, JIULONGPO)
    chain = app_client.get(f"/api/cases/{built_chain.d.id}/chain", headers=auth(token)).json()
    assert chain["chain_id"] == built_chain.a.id
    assert (chain["cases"], chain["confirmed"], chain["asymptomatic"]) == (5, 2, 3)
    assert chain["districts"] == [SHAPINGBA, JIULONGPO]
    assert (chain["spillover_links"], chain["generations"], chain["found_on_surface"]) == (2, 3, 3)
    assert chain["spillovers"] == [
        {
            "day": "2022-11-15",
            "from_district_code": SHAPINGBA,
            "to_district_code": JIULONGPO,
            "links": 1,
        },
        {
            "day": "2022-11-16",
            "from_district_code": SHAPINGBA,
            "to_district_code": JIULONGPO,
            "links": 1,
        },
    ]
    generation = {n["case_id"]: n["generation"] for n in chain["nodes"]}
    assert generation == {
        built_chain.a.id: 1,
        built_chain.b.id: 2,
        built_chain.c.id: 2,
        built_chain.e.id: 2,
        built_chain.d.id: 3,
    }
    edges = {(e["source"], e["target"]): e["spillover"] for e in chain["edges"]}
    assert edges == {
        (built_chain.a.id, built_chain.b.id): False,
        (built_chain.a.id, built_chain.c.id): True,
        (built_chain.c.id, built_chain.d.id): False,
        (built_chain.a.id, built_chain.e.id): True,
    }
    assert "name" not in str(chain["nodes"])


def test_spillovers_are_counted_per_pair_of_districts_per_day(
    app_client: TestClient, session: Session, built_chain: Chain
) -> None:
    _, token = district_user(session, SHAPINGBA)
    rows = app_client.get(
        "/api/cases/spillovers",
        headers=auth(token),
        params={"first_day": "2022-11-14", "last_day": "2022-11-16"},
    ).json()
    assert [
        (r["day"], r["from_district_code"], r["to_district_code"], r["links"]) for r in rows
    ] == [
        ("2022-11-15", SHAPINGBA, JIULONGPO, 1),
        ("2022-11-16", SHAPINGBA, JIULONGPO, 1),
    ]
    _, elsewhere = district_user(session, NAN_AN)
    assert (
        app_client.get(
            "/api/cases/spillovers",
            headers=auth(elsewhere),
            params={"first_day": "2022-11-14", "last_day": "2022-11-16"},
        ).json()
        == []
    )


def test_the_chain_list_shows_the_chain_across_districts(
    app_client: TestClient, session: Session, built_chain: Chain
) -> None:
    _, token = district_user(session, JIULONGPO)
    page = app_client.get(
        "/api/cases/chains", headers=auth(token), params={"crossing_districts": True}
    ).json()
    mine = [c for c in page["items"] if c["chain_id"] == built_chain.a.id]
    assert mine == [
        {
            "chain_id": built_chain.a.id,
            "cases": 5,
            "districts": [SHAPINGBA, JIULONGPO],
            "spillover_links": 2,
            "first_report_day": "2022-11-14",
            "last_report_day": "2022-11-16",
        }
    ]
    _, elsewhere = district_user(session, NAN_AN)
    others = app_client.get("/api/cases/chains", headers=auth(elsewhere)).json()
    assert built_chain.a.id not in [c["chain_id"] for c in others["items"]]


def test_the_chain_of_a_case_outside_the_jurisdiction_is_not_found(
    app_client: TestClient, session: Session, built_chain: Chain
) -> None:
    _, token = district_user(session, NAN_AN)
    response = app_client.get(f"/api/cases/{built_chain.a.id}/chain", headers=auth(token))
    assert response.status_code == 404


def test_a_district_links_its_case_to_a_source_in_another_district(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    source = make_case(session, protector, district_code=SHAPINGBA)
    target = make_case(session, protector, district_code=NAN_AN, detected_at=at(DAY + timedelta(1)))
    _, token = district_user(session, NAN_AN)
    response = app_client.post(
        "/api/cases/links",
        headers=auth(token),
        json={
            "source_case_id": source.id,
            "target_case_id": target.id,
            "evidence_kind": "contact_tracing",
            "evidence": "同乘 G123 次列车 8 车厢",
        },
    )
    # 南岸 may not see 沙坪壩's case: the link is proposed to 沙坪壩, who confirms it.
    assert response.status_code == 202, response.text
    proposal = response.json()
    assert (proposal["status"], proposal["to_district_code"]) == ("proposed", None)
    _, owner = district_user(session, SHAPINGBA)
    inbox = app_client.get("/api/cases/link-proposals", headers=auth(owner)).json()
    assert [p["id"] for p in inbox["items"]] == [proposal["id"]]
    confirmed = app_client.post(
        f"/api/cases/link-proposals/{proposal['id']}/confirm", headers=auth(owner)
    )
    assert confirmed.status_code == 200, confirmed.text
    body = confirmed.json()
    assert (body["from_district_code"], body["to_district_code"], body["spillover"]) == (
        SHAPINGBA,
        NAN_AN,
        True,
    )
    assert body["day"] == "2022-11-15"


def test_a_case_has_one_source_and_no_link_closes_a_cycle(
    app_client: TestClient, session: Session, built_chain: Chain
) -> None:
    _, token = command_user(session)

    def post(source: Case, target: Case) -> tuple[int, str]:
        response = app_client.post(
            "/api/cases/links",
            headers=auth(token),
            json={
                "source_case_id": source.id,
                "target_case_id": target.id,
                "evidence_kind": "other",
                "evidence": "流调",
            },
        )
        return response.status_code, response.json().get("error", {}).get("code", "")

    assert post(built_chain.e, built_chain.d) == (409, "link_exists")
    assert post(built_chain.d, built_chain.a) == (409, "link_cycle")
    assert post(built_chain.d, built_chain.d)[0] == 422


def test_linking_cases_neither_of_which_is_yours_is_not_found(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    source = make_case(session, protector, district_code=SHAPINGBA)
    target = make_case(session, protector, district_code=JIULONGPO)
    _, token = district_user(session, NAN_AN)
    response = app_client.post(
        "/api/cases/links",
        headers=auth(token),
        json={
            "source_case_id": source.id,
            "target_case_id": target.id,
            "evidence_kind": "other",
            "evidence": "?",
        },
    )
    assert response.status_code == 404


def test_a_wrong_link_is_removed_and_the_chain_splits(
    app_client: TestClient, session: Session, built_chain: Chain
) -> None:
    _, token = district_user(session, JIULONGPO)
    links = app_client.get(f"/api/cases/{built_chain.c.id}/links", headers=auth(token)).json()
    wrong = next(x for x in links if x["target_case_id"] == built_chain.c.id)
    assert (
        app_client.delete(f"/api/cases/links/{wrong['id']}", headers=auth(token)).status_code == 204
    )
    chain = app_client.get(f"/api/cases/{built_chain.c.id}/chain", headers=auth(token)).json()
    assert (chain["chain_id"], chain["cases"], chain["spillover_links"]) == (built_chain.c.id, 2, 0)
