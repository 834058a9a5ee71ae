"""The laboratory and screening pages: a results file with a bad row is refused whole with
every bad row listed, then loaded without it with the rejects kept for download; a form sent
twice acts once; a district finds the persons of one building that a round missed."""

from __future__ import annotations

import csv
import io
import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.screening import make_site, register, tube
from tests.factories.web import csrf_of, log_in
from tests.factories.zones import NOV, area, at, building, resident
from xietong.core.principal import SYSTEM, Role
from xietong.flows import screening as screening_flow
from xietong.people.protection import PersonalDataProtector
from xietong.screening.models import ResultBatch

HEADER = "tube_code,result,ct_value,lab,reported_at\n"


def _upload(client: TestClient, text: str, *, load_valid: bool, key: str = "") -> object:
    data = {"csrf": csrf_of(client), "form_key": key}
    if load_valid:
        data["load_valid"] = "1"
    return client.post(
        "/lab/upload",
        data=data,
        files={"file": ("results-1115.csv", text.encode("utf-8"), "text/csv")},
        follow_redirects=False,
    )


def test_a_file_with_a_bad_row_is_refused_whole_then_loaded_without_it(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    site = make_site(session, district_code="500103")
    person = resident(session, protector, building(session, "500103"))
    good = [tube(site, [person.id])]
    register(session, *good)
    text = (
        HEADER
        + f"{good[0].tube_code},阴性,,LAB-01,2022-11-15T11:00:00+08:00\n"
        + "NO-SUCH-TUBE,阴性,,LAB-01,2022-11-15T11:00:00+08:00\n"
    )
    log_in(app_client, session, role=Role.lab)
    batches_before = session.scalar(select(func.count()).select_from(ResultBatch))

    refused = _upload(app_client, text, load_valid=False)
    assert refused.status_code == 422  # type: ignore[attr-defined]
    body = refused.text  # type: ignore[attr-defined]
    assert 'data-error-record="line 3"' in body
    assert "tube_code" in body and "无此管码" in body  # the reason in the reader's language
    assert session.scalar(select(func.count()).select_from(ResultBatch)) == batches_before

    loaded = _upload(app_client, text, load_valid=True, key="k-upload-1")
    assert loaded.status_code == 303  # type: ignore[attr-defined]
    location = loaded.headers["location"]  # type: ignore[attr-defined]
    batch_id = int(re.fullmatch(r"/lab/batches/(\d+)", location).group(1))  # type: ignore[union-attr]
    again = _upload(app_client, text, load_valid=True, key="k-upload-1")
    assert again.headers["location"] == "/lab"  # type: ignore[attr-defined]
    assert session.scalar(select(func.count()).select_from(ResultBatch)) == batches_before + 1

    page = app_client.get(location)
    assert 'data-count="applied">1<' in page.text
    assert f"/lab/batches/{batch_id}/rejects.csv" in page.text
    rejects = app_client.get(f"/lab/batches/{batch_id}/rejects.csv")
    assert rejects.content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(rejects.content.decode("utf-8-sig"))))
    assert [(r["line"], r["tube_code"]) for r in rows] == [("3", "NO-SUCH-TUBE")]
    assert "unknown tube" in rows[0]["errors"]

    # Another laboratory does not see this delivery.
    log_in(app_client, session, role=Role.lab)
    assert app_client.get(f"/lab/batches/{batch_id}/rejects.csv").status_code == 404


def test_a_district_finds_the_persons_of_a_building_that_the_round_missed(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    place = building(session, "500106", 2)
    area(session, place, status="active", active_from=NOV[14])
    persons = [resident(session, protector, place, name=f"住户{i}") for i in range(3)]
    site = make_site(session, district_code="500106")
    register(session, tube(site, [persons[0].id], pool_size=1))
    screening_flow.issue_plan(session, principal=SYSTEM, day=NOV[15], now=at(NOV[15], 6))

    log_in(app_client, session, role=Role.district_coordinator, district_code="500106")
    overview = app_client.get("/screening?day=2022-11-15")
    assert overview.status_code == 200
    assert f'data-missed="{place.code}"' in overview.text
    page = app_client.get(f"/screening/missed?building={place.code}&day=2022-11-15")
    listed = {int(n) for n in re.findall(r'data-person-id="(\d+)"', page.text)}
    assert listed == {persons[1].id, persons[2].id}
    assert "住户1" in page.text

    log_in(app_client, session, role=Role.district_coordinator, district_code="500108")
    other = app_client.get(f"/screening/missed?building={place.code}&day=2022-11-15")
    assert other.status_code == 404
