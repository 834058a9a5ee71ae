"""Line lists: a district's cases and close contacts sent as CSV go through the same rules as one
registered by hand, linked to a case or cluster already known by an id column; a bad row is named
by line, field and reason, and a refused file leaves nothing behind."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.auth import district_user
from tests.factories.cases import DAY, TZ, at, make_case, person_at, residence_code
from tests.factories.people import next_national_id
from xietong.cases import line_lists
from xietong.cases.contacts.needs import pending_referral_needs
from xietong.cases.models import Case, CloseContact, ClusterMember, TransmissionLink
from xietong.core.errors import ValidationFailed
from xietong.core.principal import SYSTEM, Principal
from xietong.people import service as people_service
from xietong.people.models import Person
from xietong.people.protection import PersonalDataProtector
from xietong.people.schemas import PersonCreate
from xietong.referrals.models import Referral

SHAPINGBA, JIULONGPO = "500106", "500107"
NOW = at(DAY, 18)


def person_with_id(
    session: Session, protector: PersonalDataProtector, district_code: str = SHAPINGBA
) -> tuple[Person, str]:
    national_id = next_national_id()
    person = people_service.create_person(
        session,
        principal=SYSTEM,
        protector=protector,
        person_in=PersonCreate(
            national_id=national_id,
            name="流调对象",
            residence_building_code=residence_code(session, district_code),
        ),
    )
    return person, national_id


def read(
    session: Session,
    protector: PersonalDataProtector,
    kind: line_lists.LineListKind,
    text: str,
    *,
    principal: Principal = SYSTEM,
    load_valid: bool = False,
    rejects: Path | None = None,
) -> line_lists.LineListReport:
    return line_lists.read_line_list(
        session,
        principal=principal,
        protector=protector,
        kind=kind,
        stream=io.StringIO(text),
        now=NOW,
        tz=TZ,
        load_valid=load_valid,
        rejects_path=rejects,
    )


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_cases_named_by_national_id_or_person_id_are_linked_to_their_source_and_cluster(
    session: Session, protector: PersonalDataProtector
) -> None:
    # Two cases at one building: a cluster proposed there.
    building = residence_code(session, SHAPINGBA, 2)
    source = make_case(session, protector, person=person_at(session, protector, building))
    make_case(session, protector, person=person_at(session, protector, building))
    (cluster_id,) = session.scalars(
        select(ClusterMember.cluster_id).where(ClusterMember.case_id == source.id)
    ).all()
    first, first_id = person_with_id(session, protector)
    second, _ = person_with_id(session, protector)
    text = (
        "national_id,person_id,classification,detected_at,source_case_id,source_evidence,cluster_id\n"
        f"{first_id},,confirmed,2022-11-14T09:00+08:00,{source.id},同住,{cluster_id}\n"
        f",{second.id},asymptomatic,2022-11-14T10:30+08:00,,,\n"
    )

    report = read(session, protector, "cases", text)

    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (2, 2, 0)
    by_line = {line: session.get(Case, case_id) for line, case_id in report.registered.items()}
    assert by_line[2] is not None and by_line[2].person_id == first.id
    assert by_line[3] is not None and by_line[3].person_id == second.id
    assert by_line[2].classification == "confirmed" and by_line[2].source == "field"
    link = session.scalars(
        select(TransmissionLink).where(TransmissionLink.target_case_id == by_line[2].id)
    ).one()
    assert (link.source_case_id, link.evidence) == (source.id, "同住")
    member = session.get(ClusterMember, (cluster_id, by_line[2].id))
    assert member is not None
    assert (member.status, member.place_role) == ("confirmed", "traced")


def test_a_file_with_bad_rows_is_refused_whole_each_naming_its_line_and_field(
    session: Session, protector: PersonalDataProtector
) -> None:
    good, good_id = person_with_id(session, protector)
    _, other_id = person_with_id(session, protector)
    before = count(session, Case)
    text = (
        "national_id,classification,detected_at,cluster_id\n"
        f"{good_id},confirmed,2022-11-14T09:00+08:00,\n"
        f"{other_id},mild,2022-11-14T09:00+08:00,\n"
        f"{other_id},confirmed,yesterday,\n"
        f"{other_id},confirmed,2022-11-14T09:00+08:00,99999999\n"
        ",confirmed,2022-11-14T09:00+08:00,\n"
    )

    with pytest.raises(ValidationFailed) as refused:
        read(session, protector, "cases", text)

    named = {(e.record, e.field) for e in refused.value.errors}
    assert named == {
        ("line 3", "classification"),
        ("line 4", "detected_at"),
        ("line 5", "cluster_id"),
        ("line 6", "person_id"),
    }
    # The caller rolls the unit of work back; within it the good row stands alone.
    session.rollback()
    assert count(session, Case) == before
    assert session.scalar(select(Case).where(Case.person_id == good.id)) is None


def test_with_load_valid_the_good_rows_stay_and_the_rejects_file_keeps_the_bad_ones(
    session: Session, protector: PersonalDataProtector, tmp_path: Path
) -> None:
    good, good_id = person_with_id(session, protector)
    _, other_id = person_with_id(session, protector)
    rejects = tmp_path / "rejects.csv"
    text = (
        "national_id,classification,detected_at\n"
        f"{good_id},confirmed,2022-11-14T09:00+08:00\n"
        f"{other_id},confirmed,2099-01-01T09:00+08:00\n"
    )

    report = read(session, protector, "cases", text, load_valid=True, rejects=rejects)

    assert (report.rows_loaded, report.rows_rejected) == (1, 1)
    assert session.scalar(select(Case.id).where(Case.person_id == good.id)) == report.registered[2]
    with rejects.open(encoding="utf-8") as written:
        (row,) = list(csv.DictReader(written))
    assert row["line"] == "3"
    assert "detected_at: lies in the future" in row["errors"]
    assert row["national_id"] != other_id  # masked, never written in plain


def test_contacts_go_to_their_case_and_one_living_elsewhere_is_that_districts_referral_need(
    session: Session, protector: PersonalDataProtector
) -> None:
    case = make_case(session, protector, district_code=SHAPINGBA)
    elsewhere, elsewhere_id = person_with_id(session, protector, district_code=JIULONGPO)
    text = (
        "case_id,national_id,name,residence_building_code,exposure_kind,last_exposure_at\n"
        f"{case.id},{elsewhere_id},,,household,2022-11-13T20:00+08:00\n"
        f"{case.id},,张某,{residence_code(session, SHAPINGBA, 1)},workplace,\n"
    )

    report = read(session, protector, "contacts", text)

    assert report.rows_loaded == 2
    contacts = {line: session.get(CloseContact, i) for line, i in report.registered.items()}
    assert contacts[2] is not None and contacts[2].person_id == elsewhere.id
    assert contacts[3] is not None and contacts[3].person_id is None
    needs = pending_referral_needs(session)
    assert any(n.contact_id == contacts[2].id for n in needs)


def test_a_district_cannot_attach_contacts_to_a_case_it_does_not_see(
    session: Session, protector: PersonalDataProtector
) -> None:
    case = make_case(session, protector, district_code=JIULONGPO)
    principal, _ = district_user(session, SHAPINGBA)
    text = (
        "case_id,name,residence_district_code,exposure_kind\n"
        f"{case.id},李某,{SHAPINGBA},household\n"
        "abc,李某,500106,household\n"
    )

    with pytest.raises(ValidationFailed) as refused:
        read(session, protector, "contacts", text, principal=principal)

    assert {(e.record, e.field) for e in refused.value.errors} == {
        ("line 2", "case_id"),
        ("line 3", "case_id"),
    }


def test_the_api_takes_a_line_list_upload_and_answers_bad_rows_with_422(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    case = make_case(session, protector, district_code=SHAPINGBA)
    _, token = district_user(session, SHAPINGBA)
    headers = {"Authorization": f"Bearer {token}"}
    good = f"case_id,name,residence_district_code,exposure_kind\n{case.id},王某,{SHAPINGBA},venue\n"
    bad = good + f"{case.id},王某,{SHAPINGBA},telepathy\n"

    refused = app_client.post(
        "/api/cases/line-lists/contacts",
        files={"file": ("contacts.csv", bad.encode(), "text/csv")},
        headers=headers,
    )
    assert refused.status_code == 422
    assert [(d["record"], d["field"]) for d in refused.json()["error"]["details"]] == [
        ("line 3", "exposure_kind")
    ]

    loaded = app_client.post(
        "/api/cases/line-lists/contacts",
        files={"file": ("contacts.csv", ("\ufeff" + good).encode(), "text/csv")},
        headers=headers,
    )
    assert loaded.status_code == 200, loaded.text
    assert loaded.json()["rows_loaded"] == 1


def test_a_contact_of_a_line_list_living_elsewhere_is_pushed_to_that_district_at_once(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    case = make_case(session, protector, district_code=SHAPINGBA)
    _, token = district_user(session, SHAPINGBA)
    elsewhere, national_id = person_with_id(session, protector, district_code=JIULONGPO)
    # The district does not see the person: its line list says who and where, as by hand.
    text = (
        "case_id,national_id,name,residence_district_code,exposure_kind\n"
        f"{case.id},{national_id},赵某,{JIULONGPO},household\n"
    )

    loaded = app_client.post(
        "/api/cases/line-lists/contacts",
        files={"file": ("contacts.csv", text.encode(), "text/csv")},
        headers={"Authorization": f"Bearer {token}"},
    )

    assert loaded.status_code == 200, loaded.text
    referral = session.scalars(select(Referral).where(Referral.person_id == elsewhere.id)).one()
    assert referral.to_district_id == elsewhere.residence_district_id
    assert pending_referral_needs(session) == []
