"""A national ID whose region code names one of the city's districts other than the person's
residence is accepted with a warning (by file and through the API); one that names the residence
district, or no district of the city, is accepted silently."""

from __future__ import annotations

import io
from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.auth import command_user
from tests.factories.people import building_in, next_national_id
from xietong.core.principal import SYSTEM
from xietong.people import service
from xietong.people.identity import check_character
from xietong.people.protection import PersonalDataProtector

HEADER = "national_id,name,phone,residence_building,current_building\n"


def national_id(region: str, serial: int) -> str:
    first17 = f"{region}{date(1980, 1, 1 + serial):%Y%m%d}{serial:03d}"
    return first17 + check_character(first17)


def test_an_import_warns_of_an_id_issued_in_another_district_of_the_city(
    session: Session, protector: PersonalDataProtector
) -> None:
    home = building_in(session, "500106").code  # 沙坪壩區
    rows = [
        f"{national_id('500112', 1)},甲,,{home},",  # 渝北區's code: worth a look
        f"{national_id('500106', 2)},乙,,{home},",  # the residence district's own code
        f"{next_national_id()},丙,,{home},",  # a code that is no district of the city
    ]
    report = service.import_persons(
        session,
        principal=SYSTEM,
        protector=protector,
        stream=io.StringIO(HEADER + "\n".join(rows) + "\n"),
    )
    assert report.inserted == 3
    assert report.rows_warned == 1
    assert len(report.warnings) == 1
    assert report.warnings[0].startswith(
        "line 2: national_id: the region code names district 500112"
    )


def test_the_api_registers_the_person_and_says_why_the_id_is_worth_a_look(
    app_client: TestClient, session: Session
) -> None:
    _, token = command_user(session)
    home = building_in(session, "500106").code
    answer = app_client.post(
        "/api/people",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "national_id": national_id("500112", 3),
            "name": "丁",
            "residence_building_code": home,
        },
    )
    assert answer.status_code == 201, answer.text
    assert len(answer.json()["warnings"]) == 1
    assert "500112" in answer.json()["warnings"][0]
