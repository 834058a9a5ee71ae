"""Bulk import of persons: every bad row named, all or nothing, idempotent re-import."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.people import building_in, next_national_id
from xietong.core.errors import ValidationFailed
from xietong.core.principal import SYSTEM
from xietong.people import service
from xietong.people.models import Person
from xietong.people.protection import PersonalDataProtector
from xietong.people.rows import CHUNK

HEADER = "national_id,name,phone,residence_building,current_building\n"


def person_count(session: Session) -> int:
    return session.scalar(select(func.count(Person.id))) or 0


def good_rows(session: Session, n: int) -> list[str]:
    residence = building_in(session, "500106").code
    elsewhere = building_in(session, "500112").code
    return [
        f"{next_national_id()},居民{i},1390000{i:04d},{residence},{elsewhere if i % 3 == 0 else ''}"
        for i in range(n)
    ]


def run_import(
    session: Session, protector: PersonalDataProtector, text: str, **kwargs: object
) -> object:
    return service.import_persons(
        session,
        principal=SYSTEM,
        protector=protector,
        stream=io.StringIO(text),
        **kwargs,  # type: ignore[arg-type]
    )


def test_a_clean_file_loads_every_row_with_places_resolved(
    session: Session, protector: PersonalDataProtector
) -> None:
    before = person_count(session)
    report = run_import(session, protector, HEADER + "\n".join(good_rows(session, 9)) + "\n")
    assert report.inserted == 9  # type: ignore[attr-defined]
    assert person_count(session) == before + 9
    moved = session.scalars(
        select(Person).where(Person.current_district_id != Person.residence_district_id)
    ).all()
    assert len(moved) >= 3


def test_a_bad_file_is_refused_whole_listing_every_bad_row_by_line_and_field(
    session: Session, protector: PersonalDataProtector
) -> None:
    rows = good_rows(session, 4)
    rows[1] = rows[1].replace(rows[1].split(",")[0], "500103199001011239")  # wrong checksum
    rows[3] = ",".join([rows[3].split(",")[0], "", "abc", "NO-SUCH-BUILDING", ""])
    before = person_count(session)
    with pytest.raises(ValidationFailed) as caught:
        run_import(session, protector, HEADER + "\n".join(rows) + "\n")
    problems = {(e.record, e.field) for e in caught.value.errors}
    assert ("line 3", "national_id") in problems
    assert {("line 5", "name"), ("line 5", "phone"), ("line 5", "residence_building")} <= problems
    assert not any(e.record in ("line 2", "line 4") for e in caught.value.errors)
    session.rollback()  # the caller's unit of work rolls back on the error
    assert person_count(session) == before


def test_asking_to_load_valid_rows_keeps_the_rejects_in_a_file(
    session: Session, protector: PersonalDataProtector, tmp_path: Path
) -> None:
    rows = good_rows(session, 5)
    rows[2] = rows[2].replace(rows[2].split(",")[3], "NO-SUCH-BUILDING")
    rejects = tmp_path / "rejects.csv"
    report = run_import(
        session, protector, HEADER + "\n".join(rows) + "\n", load_valid=True, rejects_path=rejects
    )
    assert (report.inserted, report.rows_rejected) == (4, 1)  # type: ignore[attr-defined]
    text = rejects.read_text(encoding="utf-8")
    assert "residence_building: unknown building" in text and text.splitlines()[1].startswith("4,")


def test_reimporting_the_same_file_changes_nothing(
    session: Session, protector: PersonalDataProtector
) -> None:
    text = HEADER + "\n".join(good_rows(session, 6)) + "\n"
    first = run_import(session, protector, text)
    after_first = person_count(session)
    second = run_import(session, protector, text)
    assert first.inserted == 6  # type: ignore[attr-defined]
    assert (second.inserted, second.already_present) == (0, 6)  # type: ignore[attr-defined]
    assert person_count(session) == after_first


def test_a_file_without_a_required_column_is_refused_at_the_header(
    session: Session, protector: PersonalDataProtector
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        run_import(session, protector, "national_id,name\n1,2\n")
    assert caught.value.errors[0].record == "line 1"
    assert caught.value.errors[0].field == "residence_building"


def test_names_and_phones_are_stored_encrypted(
    session: Session, protector: PersonalDataProtector
) -> None:
    run_import(session, protector, HEADER + "\n".join(good_rows(session, 1)) + "\n")
    person = session.scalars(select(Person).order_by(Person.id.desc()).limit(1)).one()
    assert "居民".encode() not in person.name_enc
    assert protector.decrypt(person.name_enc) == "居民0"
    assert person.id_masked.startswith("5001") and "*" in person.id_masked


@pytest.mark.slow
def test_worker_processes_load_a_city_file_and_name_bad_rows_across_chunks_in_order(
    session: Session, protector: PersonalDataProtector
) -> None:
    lines = good_rows(session, 2 * CHUNK + 50)
    lines[10] = lines[10].replace(",居民10,", ",,")
    lines[2 * CHUNK + 5] = "12345," + lines[2 * CHUNK + 5].split(",", 1)[1]
    text = HEADER + "\n".join(lines) + "\n"
    before = person_count(session)
    with pytest.raises(ValidationFailed) as refused:
        run_import(session, protector, text, workers=2)
    assert [(e.record, e.field) for e in refused.value.errors] == [
        ("line 12", "name"),
        (f"line {2 * CHUNK + 7}", "national_id"),
    ]
    session.rollback()  # the caller's unit of work rolls back on the error
    assert person_count(session) == before
    report = run_import(session, protector, text, workers=2, load_valid=True)
    assert report.inserted == 2 * CHUNK + 48  # type: ignore[attr-defined]
    last_id = protector.hash_id(lines[-1].split(",")[0])
    last = session.scalars(select(Person).where(Person.id_hash == last_id)).one()
    assert protector.decrypt(last.name_enc) == f"居民{2 * CHUNK + 49}"
