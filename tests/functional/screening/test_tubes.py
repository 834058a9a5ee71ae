"""Registering tubes and members: pool size limits, one open tube per person and round, unknown
persons and sites, idempotent re-sending, and files loaded whole or not at all."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import screening as f
from tests.factories.auth import district_user, make_user
from xietong.core.errors import PermissionDenied, ValidationFailed
from xietong.core.principal import SYSTEM, Role
from xietong.people.protection import PersonalDataProtector
from xietong.screening import service
from xietong.screening.models import Membership, Tube
from xietong.screening.schemas import TubeBatchReport


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def csv_text(
    rows: list[list[object]], header: str = "tube_code,site_code,collected_at,pool_size,person_id"
) -> io.StringIO:
    return io.StringIO(header + "\n" + "\n".join(",".join(str(v) for v in r) for r in rows) + "\n")


def load(session: Session, text: io.StringIO, **options: Any) -> TubeBatchReport:
    options.setdefault("now", f.NOW)
    return service.register_tubes_file(
        session, principal=SYSTEM, stream=text, source_name="t.csv", tz=f.TZ, **options
    )


def test_a_tube_takes_up_to_its_pool_size_and_refuses_one_more(
    session: Session, protector: PersonalDataProtector
) -> None:
    site = f.make_site(session)
    persons = [p.id for p in f.make_persons(session, protector, 14)]
    full = f.register(session, f.tube(site, persons[:10], pool_size=10))
    assert (full.tubes_added, full.members_added) == (1, 10)
    code = f.tube_code()
    with pytest.raises(ValidationFailed) as refused:
        f.register(session, f.tube(site, persons[10:], code=code, pool_size=3))
    assert [(e.record, e.reason) for e in refused.value.errors] == [
        ("tubes[0].person_ids[3]", "over the tube's pool size of 3")
    ]


def test_a_pool_size_outside_the_policy_limit_is_refused(session: Session) -> None:
    site = f.make_site(session)
    with pytest.raises(ValidationFailed) as refused:
        load(session, csv_text([[f.tube_code(), site.code, "2022-11-15T08:00:00+08:00", 21, 1]]))
    assert refused.value.errors[0].field == "pool_size"
    assert "between 1 and 20" in refused.value.errors[0].reason


@pytest.mark.parametrize("preload", [False, True], ids=["probes", "bitmaps"])
def test_a_person_in_two_open_tubes_of_the_same_round_is_refused(
    session: Session, protector: PersonalDataProtector, preload: bool
) -> None:
    site = f.make_site(session)
    a, b = (p.id for p in f.make_persons(session, protector, 2))
    first = f.tube_code()
    load(
        session, csv_text([[first, site.code, "2022-11-15T08:00:00+08:00", 10, a]]), preload=preload
    )
    second = f.tube_code()
    with pytest.raises(ValidationFailed) as refused:
        load(
            session,
            csv_text(
                [
                    [second, site.code, "2022-11-15T09:00:00+08:00", 10, b],
                    [second, site.code, "2022-11-15T09:00:00+08:00", 10, a],
                ]
            ),
            preload=preload,
        )
    assert [(e.record, e.reason) for e in refused.value.errors] == [
        ("line 3", f"already in open tube {first} of this round")
    ]
    # Next day is another round.
    report = load(
        session,
        csv_text([[f.tube_code(), site.code, "2022-11-16T08:00:00+08:00", 10, a]]),
        preload=preload,
        now=f.NOW + timedelta(days=1),
    )
    assert report.members_added == 1


@pytest.mark.parametrize("preload", [False, True], ids=["probes", "bitmaps"])
def test_the_same_person_twice_in_one_file_and_round_is_refused_on_the_later_line(
    session: Session, protector: PersonalDataProtector, preload: bool
) -> None:
    site = f.make_site(session)
    a = f.make_persons(session, protector, 1)[0].id
    t1, t2 = f.tube_code(), f.tube_code()
    with pytest.raises(ValidationFailed) as refused:
        load(
            session,
            csv_text(
                [
                    [t1, site.code, "2022-11-15T08:00:00+08:00", 10, a],
                    [t1, site.code, "2022-11-15T08:00:00+08:00", 10, a],
                    [t2, site.code, "2022-11-15T08:05:00+08:00", 10, a],
                ]
            ),
            preload=preload,
        )
    reasons = [(e.record, e.reason) for e in refused.value.errors]
    assert reasons == [
        ("line 3", "already in this tube (line 2)"),
        ("line 4", f"already in tube {t1} of this round (line 2)"),
    ]


def test_after_a_result_closes_the_tube_its_members_may_be_resampled_the_same_day(
    session: Session, protector: PersonalDataProtector
) -> None:
    site = f.make_site(session)
    persons = [p.id for p in f.make_persons(session, protector, 3)]
    first = f.tube(site, persons)
    f.register(session, first)
    f.report(session, f.result(first.tube_code, "invalid"))
    again = f.tube(
        site,
        persons,
        kind="resample",
        replaces=first.tube_code,
        collected_at=f.SAMPLED_AT + timedelta(hours=4),
    )
    report = f.register(session, again, now=f.NOW + timedelta(hours=1))
    assert (report.members_added, report.resample_tasks_done) == (3, 1)
    tasks, _ = service.list_resample_tasks(session, principal=SYSTEM, status="done")
    assert [t.replacement_tube_code for t in tasks if t.tube_code == first.tube_code] == [
        again.tube_code
    ]


def test_unknown_persons_and_sites_are_each_named(session: Session) -> None:
    with pytest.raises(ValidationFailed) as refused:
        load(
            session,
            csv_text(
                [
                    [f.tube_code(), "NO-SUCH-SITE", "2022-11-15T08:00:00+08:00", 10, 1],
                ]
            ),
        )
    assert [(e.record, e.field, e.reason) for e in refused.value.errors] == [
        ("line 2", "site_code", "unknown sampling site")
    ]
    site = f.make_site(session)
    with pytest.raises(ValidationFailed) as refused:
        load(
            session, csv_text([[f.tube_code(), site.code, "2022-11-15T08:00:00+08:00", 10, 10**12]])
        )
    assert [(e.record, e.field, e.reason) for e in refused.value.errors] == [
        ("line 2", "person_id", "unknown person")
    ]


def test_rows_of_one_tube_must_agree_on_site_time_and_pool_size(
    session: Session, protector: PersonalDataProtector
) -> None:
    site = f.make_site(session)
    a, b = (p.id for p in f.make_persons(session, protector, 2))
    code = f.tube_code()
    with pytest.raises(ValidationFailed) as refused:
        load(
            session,
            csv_text(
                [
                    [code, site.code, "2022-11-15T08:00:00+08:00", 10, a],
                    [code, site.code, "2022-11-15T08:00:00+08:00", 5, b],
                ]
            ),
        )
    assert refused.value.errors[0].record == "line 3"
    assert "differ from the tube's first row (line 2)" in refused.value.errors[0].reason


def test_resending_the_same_file_changes_nothing(
    session: Session, protector: PersonalDataProtector
) -> None:
    site = f.make_site(session)
    persons = [p.id for p in f.make_persons(session, protector, 12)]
    rows = [
        [f"RS{i // 4}", site.code, "2022-11-15T08:00:00+08:00", 4, pid]
        for i, pid in enumerate(persons)
    ]
    first = load(session, csv_text(rows), chunk_rows=5)
    before = (count(session, Tube), count(session, Membership))
    again = load(session, csv_text(rows), chunk_rows=5)
    assert (first.tubes_added, first.members_added) == (3, 12)
    assert (again.tubes_added, again.members_added, again.members_already_present) == (0, 0, 12)
    assert (count(session, Tube), count(session, Membership)) == before


def test_a_bad_file_writes_nothing_unless_valid_rows_are_asked_for(
    session: Session, protector: PersonalDataProtector, tmp_path: Path
) -> None:
    site = f.make_site(session)
    a, b = (p.id for p in f.make_persons(session, protector, 2))
    good, bad = f.tube_code(), f.tube_code()
    rows = [
        [good, site.code, "2022-11-15T08:00:00+08:00", 10, a],
        [bad, site.code, "not a time", 10, b],
    ]
    before = count(session, Tube)
    with pytest.raises(ValidationFailed), session.begin_nested():
        load(session, csv_text(rows))
    assert count(session, Tube) == before
    rejects = tmp_path / "rejects.csv"
    report = load(session, csv_text(rows), load_valid=True, rejects_path=rejects)
    assert (report.tubes_added, report.rows_rejected) == (1, 1)
    text = rejects.read_text(encoding="utf-8")
    assert bad in text and "collected_at: not a date and time" in text


def test_members_can_be_named_by_national_id(
    session: Session, protector: PersonalDataProtector
) -> None:
    from tests.factories.people import next_national_id
    from xietong.people import service as people_service
    from xietong.people.schemas import PersonCreate

    site = f.make_site(session)
    number = next_national_id()
    person = people_service.create_person(
        session,
        principal=SYSTEM,
        protector=protector,
        person_in=PersonCreate(national_id=number, name="张三", residence_district_code="500103"),
    )
    report = service.register_tubes_file(
        session,
        principal=SYSTEM,
        protector=protector,
        source_name="ids.csv",
        tz=f.TZ,
        now=f.NOW,
        stream=csv_text(
            [[f.tube_code(), site.code, "2022-11-15T08:00:00+08:00", 10, number]],
            header="tube_code,site_code,collected_at,pool_size,national_id",
        ),
    )
    assert report.members_added == 1
    assert session.scalar(select(Membership.person_id)) is not None
    assert person.id in set(session.scalars(select(Membership.person_id)))


def test_a_district_user_registers_tubes_only_at_its_own_sites(
    session: Session, protector: PersonalDataProtector
) -> None:
    elsewhere = f.make_site(session, district_code="500106")
    principal, _ = district_user(session, "500103")
    person = f.make_persons(session, protector, 1)[0].id
    with pytest.raises(ValidationFailed) as refused:
        service.register_tubes_file(
            session,
            principal=principal,
            stream=csv_text(
                [[f.tube_code(), elsewhere.code, "2022-11-15T08:00:00+08:00", 10, person]]
            ),
            source_name="x.csv",
            tz=f.TZ,
            now=f.NOW,
        )
    assert refused.value.errors[0].reason == "the site is outside your district"
    lab, _ = make_user(session, role=Role.lab)
    with pytest.raises(PermissionDenied):
        service.register_tubes_file(
            session, principal=lab, stream=csv_text([]), source_name="x.csv", tz=f.TZ, now=f.NOW
        )


def test_the_api_refuses_a_batch_with_422_listing_every_bad_record_and_writes_nothing(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    site = f.make_site(session)
    person = f.make_persons(session, protector, 1)[0].id
    _, token = district_user(session, "500103")
    before = count(session, Tube)
    body = {
        "tubes": [
            {
                "tube_code": f.tube_code(),
                "site_code": site.code,
                "collected_at": "2022-11-15T08:00:00+08:00",
                "pool_size": 10,
                "person_ids": [person],
            },
            {
                "tube_code": f.tube_code(),
                "site_code": "NOPE",
                "collected_at": "2022-11-15T08:00:00+08:00",
                "pool_size": 10,
                # No such person, but an id a record could have (past 32 bits the input guard
                # refuses it before the service lists the batch's bad records).
                "person_ids": [2**31 - 1],
            },
            {
                "tube_code": f.tube_code(),
                "site_code": site.code,
                "collected_at": "2022-11-15T08:00:00+08:00",
                "pool_size": 10,
                "person_ids": [],
            },
        ]
    }
    response = app_client.post("/api/screening/tubes", json=body, headers=auth(token))
    assert response.status_code == 422
    details = {(d["record"], d["field"]) for d in response.json()["error"]["details"]}
    assert details == {
        ("tubes[1].person_ids[0]", "site_code"),
        ("tubes[2]", "person_ids"),
    }
    assert count(session, Tube) == before
    body["tubes"] = body["tubes"][:1]
    accepted = app_client.post("/api/screening/tubes", json=body, headers=auth(token))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["members_added"] == 1
    code = body["tubes"][0]["tube_code"]
    tube = app_client.get(f"/api/screening/tubes/{code}", headers=auth(token)).json()
    assert (tube["pool_size"], tube["member_count"], tube["round_day"], tube["result"]) == (
        10,
        1,
        "2022-11-15",
        None,
    )


def test_a_district_uploads_a_tube_file_through_the_api(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    site = f.make_site(session, district_code="500103")
    persons = [p.id for p in f.make_persons(session, protector, 3)]
    _, token = district_user(session, "500103")
    code = f.tube_code()
    text = "tube_code,site_code,collected_at,pool_size,person_id\n" + "".join(
        f"{code},{site.code},2022-11-15 08:00:00,10,{pid}\n" for pid in persons
    )
    files = {"file": ("site-1.csv", text.encode("utf-8"), "text/csv")}
    posted = app_client.post("/api/screening/tubes/import", files=files, headers=auth(token))
    assert posted.status_code == 200, posted.text
    assert (posted.json()["tubes_added"], posted.json()["members_added"]) == (1, 3)
    again = app_client.post("/api/screening/tubes/import", files=files, headers=auth(token))
    assert again.json()["members_already_present"] == 3
