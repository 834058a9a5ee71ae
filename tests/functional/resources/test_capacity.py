"""Capacity reported by districts through the API and CSV: all or nothing with every bad record
named; the capacity on a day is the latest report covering it, else the standing capacity."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories.auth import command_user, district_user, make_user
from tests.factories.resources import DAY, JIULONGPO, NOW, SHAPINGBA, facility, laboratory, window
from xietong.core.errors import ValidationFailed
from xietong.core.principal import SYSTEM, Role
from xietong.resources import service
from xietong.resources.models import CapacityReport, Facility, Laboratory
from xietong.resources.schemas import CapacityReportIn

WEEK = [DAY + timedelta(days=k) for k in range(7)]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def per_day(session: Session, code: str) -> list[int]:
    (place,) = [p for p in service.place_capacities(session, days=WEEK) if p.code == code]
    return [int(v) for v in place.per_day]


def test_a_district_reports_new_standing_capacity_and_the_history_keeps_the_old_one(
    app_client: TestClient, session: Session
) -> None:
    site = facility(session, district_code=SHAPINGBA, beds=100)
    _, token = district_user(session, SHAPINGBA)
    response = app_client.post(
        "/api/resources/capacity",
        headers=auth(token),
        json={
            "reports": [
                {
                    "district_code": SHAPINGBA,
                    "code": site.code,
                    "kind": "centralised_quarantine",
                    "capacity": 140,
                    "note": "新征用酒店一栋",
                }
            ]
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()[0]["previous_capacity"] == 100
    session.refresh(site)
    assert site.beds == 140  # the cases domain places contacts by this column
    history = app_client.get(
        "/api/resources/capacity/history", headers=auth(token), params={"code": site.code}
    ).json()
    assert history["total"] == 1
    assert history["items"][0]["capacity"] == 140
    assert history["items"][0]["reported_by"].startswith("district_coordinator")


def test_an_availability_window_changes_only_its_days_and_the_latest_report_wins(
    session: Session,
) -> None:
    site = facility(session, beds=100)
    window(session, site, capacity=0, first_day=WEEK[2], last_day=WEEK[3])  # closed to clean
    window(session, site, capacity=150, first_day=WEEK[5])  # a wing opens, open-ended
    window(session, site, capacity=50, first_day=WEEK[3], last_day=WEEK[3])  # half reopens
    assert per_day(session, site.code) == [100, 100, 0, 50, 100, 150, 150]
    window(session, site, capacity=120)  # a later standing report overrides earlier windows
    assert per_day(session, site.code) == [120] * 7


def test_a_site_is_only_open_between_its_dates_and_not_at_all_when_inactive(
    session: Session,
) -> None:
    dated = facility(session, beds=30, available_from=WEEK[1], available_to=WEEK[4])
    closed = facility(session, beds=30, active=False)
    assert per_day(session, dated.code) == [0, 30, 30, 30, 30, 0, 0]
    assert per_day(session, closed.code) == [0] * 7


def test_a_new_place_is_registered_by_its_first_report(session: Session) -> None:
    service.report_capacity(
        session,
        principal=SYSTEM,
        reports=[
            CapacityReportIn(
                district_code=JIULONGPO,
                code="FC-JLP-01",
                kind="makeshift_hospital",
                name="九龙坡方舱医院",
                capacity=2000,
                first_day=WEEK[3],
            ),
            CapacityReportIn(
                district_code=JIULONGPO,
                code="LAB-JLP-NEW",
                kind="laboratory",
                name="气膜实验室",
                capacity=30000,
                first_day=WEEK[2],
                last_day=WEEK[5],
            ),
        ],
        now=NOW,
    )
    hospital = session.scalars(select(Facility).where(Facility.code == "FC-JLP-01")).one()
    assert (hospital.kind, hospital.beds, hospital.available_from) == (
        "makeshift_hospital",
        2000,
        WEEK[3],
    )
    assert per_day(session, "FC-JLP-01") == [0, 0, 0, 2000, 2000, 2000, 2000]
    assert per_day(session, "LAB-JLP-NEW") == [0, 0, 30000, 30000, 30000, 30000, 0]


def test_a_batch_with_a_bad_report_writes_nothing_and_names_each_problem(
    app_client: TestClient, session: Session
) -> None:
    site = facility(session, district_code=SHAPINGBA, beds=100)
    _, token = command_user(session)
    response = app_client.post(
        "/api/resources/capacity",
        headers=auth(token),
        json={
            "reports": [
                {
                    "district_code": SHAPINGBA,
                    "code": site.code,
                    "kind": "centralised_quarantine",
                    "capacity": 90,
                },
                {"district_code": "999999", "code": "X", "kind": "laboratory", "capacity": 1},
                {
                    "district_code": JIULONGPO,
                    "code": site.code,
                    "kind": "makeshift_hospital",
                    "capacity": 5,
                },
            ]
        },
    )
    assert response.status_code == 422
    problems = {(d["record"], d["field"]) for d in response.json()["error"]["details"]}
    assert ("report 2", "district_code") in problems
    assert ("report 2", "name") in problems  # a new place needs a name
    assert ("report 3", "kind") in problems and ("report 3", "district_code") in problems
    session.refresh(site)
    assert site.beds == 100
    assert session.scalars(select(CapacityReport)).first() is None


def test_a_district_may_not_report_for_another_district(
    app_client: TestClient, session: Session
) -> None:
    site = facility(session, district_code=JIULONGPO)
    _, token = district_user(session, SHAPINGBA)
    response = app_client.post(
        "/api/resources/capacity",
        headers=auth(token),
        json={
            "reports": [
                {
                    "district_code": JIULONGPO,
                    "code": site.code,
                    "kind": "centralised_quarantine",
                    "capacity": 0,
                }
            ]
        },
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["reason"].startswith("you may report only")


def test_a_laboratory_reports_its_own_tubes_but_not_beds(session: Session) -> None:
    lab = laboratory(session, district_code=SHAPINGBA, tubes_per_day=1000)
    site = facility(session, district_code=SHAPINGBA)
    principal, _ = make_user(session, role=Role.lab, district_code=SHAPINGBA)
    service.report_capacity(
        session,
        principal=principal,
        reports=[
            CapacityReportIn(
                district_code=SHAPINGBA, code=lab.code, kind="laboratory", capacity=1500
            )
        ],
        now=datetime.now(UTC),
    )
    assert session.get(Laboratory, lab.id).tubes_per_day == 1500  # type: ignore[union-attr]
    try:
        service.report_capacity(
            session,
            principal=principal,
            reports=[
                CapacityReportIn(
                    district_code=SHAPINGBA,
                    code=site.code,
                    kind="centralised_quarantine",
                    capacity=1,
                )
            ],
            now=datetime.now(UTC),
        )
    except ValidationFailed as exc:
        assert exc.errors[0].field == "kind"
    else:
        raise AssertionError("a laboratory reported beds")


CSV_GOOD = """district_code,code,kind,name,capacity,first_day,last_day,note
500106,SPB-Q-01,centralised_quarantine,沙坪坝隔离酒店,300,,,
500106,SPB-LAB-01,laboratory,沙坪坝区疾控实验室,40000,,,
500106,SPB-Q-01,centralised_quarantine,,0,2022-11-16,2022-11-16,消杀
500107,JLP-FC-01,makeshift_hospital,九龙坡方舱,1500,2022-11-15,,
"""


def test_a_capacity_file_loads_places_reports_and_windows(
    app_client: TestClient, session: Session
) -> None:
    _, token = command_user(session)
    response = app_client.post(
        "/api/resources/capacity/import",
        headers=auth(token),
        files={"file": ("capacity.csv", CSV_GOOD.encode(), "text/csv")},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "rows_read": 4,
        "rows_rejected": 0,
        "reports_added": 4,
        "facilities_added": 2,
        "laboratories_added": 1,
    }
    assert per_day(session, "SPB-Q-01") == [300, 300, 0, 300, 300, 300, 300]
    assert per_day(session, "JLP-FC-01") == [0, 1500, 1500, 1500, 1500, 1500, 1500]


CSV_BAD = """district_code,code,kind,name,capacity,first_day,last_day,note
500106,SPB-Q-02,centralised_quarantine,隔离点,300,,,
500106,SPB-Q-03,centralised_quarantine,隔离点,-5,,,
500106,SPB-Q-04,hotel,隔离点,10,,,
500106,SPB-Q-05,centralised_quarantine,隔离点,10,2022-11-20,2022-11-18,
999999,SPB-Q-06,centralised_quarantine,隔离点,10,,,
500106,SPB-Q-07,centralised_quarantine,隔离点,ten,,,
"""


def test_a_capacity_file_with_bad_rows_is_refused_whole_with_each_line_named(
    session: Session,
) -> None:
    try:
        service.import_capacity(
            session, principal=SYSTEM, stream=io.StringIO(CSV_BAD), now=datetime.now(UTC)
        )
    except ValidationFailed as exc:
        named = {(e.record, e.field) for e in exc.errors}
    else:
        raise AssertionError("a bad file was loaded")
    assert ("line 3", "capacity") in named
    assert ("line 4", "kind") in named
    assert any(record == "line 5" for record, _ in named)  # last_day before first_day
    assert ("line 6", "district_code") in named
    assert ("line 7", "capacity") in named
    assert not any(record == "line 2" for record, _ in named)
    assert session.scalars(select(Facility).where(Facility.code == "SPB-Q-02")).first() is None


def test_load_valid_keeps_the_good_rows_of_a_bad_file(session: Session) -> None:
    report = service.import_capacity(
        session,
        principal=SYSTEM,
        stream=io.StringIO(CSV_BAD),
        load_valid=True,
        now=datetime.now(UTC),
    )
    assert (report.rows_read, report.rows_rejected, report.reports_added) == (6, 5, 1)
    assert session.scalars(select(Facility).where(Facility.code == "SPB-Q-02")).one().beds == 300


def test_a_file_missing_a_column_is_refused_on_its_header(session: Session) -> None:
    try:
        service.import_capacity(
            session,
            principal=SYSTEM,
            stream=io.StringIO("district_code,code,kind\n"),
            now=datetime.now(UTC),
        )
    except ValidationFailed as exc:
        assert {(e.record, e.field) for e in exc.errors} >= {("line 1", "capacity")}
    else:
        raise AssertionError("a file without capacity was accepted")


def test_facilities_and_laboratories_are_listed_with_their_capacity_on_the_day(
    app_client: TestClient, session: Session
) -> None:
    site = facility(session, district_code=SHAPINGBA, beds=80)
    window(session, site, capacity=20, first_day=DAY, last_day=DAY)
    laboratory(session, district_code=SHAPINGBA, tubes_per_day=5000)
    _, token = district_user(session, SHAPINGBA)
    listed = app_client.get(
        "/api/resources/facilities",
        headers=auth(token),
        params={"district": SHAPINGBA, "day": DAY.isoformat()},
    ).json()
    row = next(f for f in listed if f["code"] == site.code)
    assert (row["beds"], row["beds_on_day"]) == (80, 20)
    labs = app_client.get(
        "/api/resources/laboratories", headers=auth(token), params={"district": SHAPINGBA}
    ).json()
    assert [lab["tubes_per_day"] for lab in labs] == [5000]
