"""A conversion (asymptomatic → confirmed) is counted as a conversion, not a new case: the report
day stays the first report, the person is one infection, and the day's figures add up as the
bulletin requires."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.auth import command_user
from tests.factories.cases import DAY, TZ, at, make_case
from xietong.areas import service as areas_service
from xietong.cases import metrics, service
from xietong.core.principal import SYSTEM
from xietong.people.protection import PersonalDataProtector
from xietong.reports.bulletin import DistrictCounts

NEXT = DAY + timedelta(days=1)


def figures(session: Session, district_code: str, day: date) -> dict[str, int]:
    district = areas_service.get_district(session, code=district_code).id
    return metrics.daily_metrics(session, cells=[(district, day)], tz=TZ)[(district, day)]


def test_a_conversion_keeps_the_first_report_day_and_is_not_a_new_infection(
    session: Session, protector: PersonalDataProtector
) -> None:
    case = make_case(session, protector, district_code="500110", classification="asymptomatic")
    service.reclassify_case(
        session, principal=SYSTEM, case_id=case.id, classification="confirmed", at=at(NEXT), tz=TZ
    )
    assert (case.classification, case.initial_classification) == ("confirmed", "asymptomatic")
    assert (case.report_day, case.conversion_day) == (DAY, NEXT)
    first, second = figures(session, "500110", DAY), figures(session, "500110", NEXT)
    assert (first["new_asymptomatic"], first["new_confirmed"], first["conversions"]) == (1, 0, 0)
    # The bulletin's new confirmed cases include the conversion, named as one: 含1例無症狀轉確診.
    assert (second["new_asymptomatic"], second["new_confirmed"], second["conversions"]) == (0, 1, 1)
    infections = sum(
        f["new_confirmed"] - f["conversions"] + f["new_asymptomatic"] for f in (first, second)
    )
    assert infections == 1


def test_a_correction_on_the_report_day_is_not_a_conversion(
    session: Session, protector: PersonalDataProtector
) -> None:
    case = make_case(session, protector, district_code="500110", classification="asymptomatic")
    service.reclassify_case(
        session,
        principal=SYSTEM,
        case_id=case.id,
        classification="confirmed",
        at=at(DAY, 20),
        tz=TZ,
    )
    assert (case.initial_classification, case.conversion_day) == ("confirmed", None)
    day = figures(session, "500110", DAY)
    assert (day["new_confirmed"], day["new_asymptomatic"], day["conversions"]) == (1, 0, 0)


def test_a_second_positive_of_the_same_person_is_not_a_second_case(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    case = make_case(session, protector, district_code="500110")
    _, token = command_user(session)
    again = app_client.post(
        "/api/cases",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "person_id": case.person_id,
            "classification": "confirmed",
            "detected_at": at(NEXT).isoformat(),
        },
    )
    assert again.status_code == 409
    assert again.json()["error"]["details"] == {"case_id": case.id}


def test_the_days_figures_satisfy_the_bulletins_rules(
    session: Session, protector: PersonalDataProtector
) -> None:
    converted = make_case(session, protector, district_code="500111", detected_at=at(DAY, 9))
    make_case(session, protector, district_code="500111", classification="confirmed")
    make_case(session, protector, district_code="500111", detected_at=at(NEXT, 9))
    service.reclassify_case(
        session,
        principal=SYSTEM,
        case_id=converted.id,
        classification="confirmed",
        at=at(NEXT),
        tz=TZ,
    )
    day = figures(session, "500111", NEXT)
    counts = DistrictCounts(
        code="500111",
        name_hans="沙坪坝区",
        name_hant="沙坪壩區",
        english="Shapingba District",
        pinyin="Shāpíngbà Qū",
        new_confirmed=day["new_confirmed"],
        new_asymptomatic=day["new_asymptomatic"],
        conversions=day["conversions"],
        found_under_control=day["found_under_control"],
        found_on_surface=day["found_on_surface"],
    )
    assert (counts.new_confirmed, counts.conversions, counts.new_asymptomatic) == (1, 1, 1)
    assert counts.reported == 2


def test_the_summary_route_gives_the_days_counts_with_new_infections(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    case = make_case(session, protector, district_code="500112", detected_at=at(DAY, 9))
    make_case(session, protector, district_code="500112", detected_at=at(NEXT, 9))
    service.reclassify_case(
        session, principal=SYSTEM, case_id=case.id, classification="confirmed", at=at(NEXT), tz=TZ
    )
    _, token = command_user(session)
    body = app_client.get(
        "/api/cases/summary",
        headers={"Authorization": f"Bearer {token}"},
        params={"day": NEXT.isoformat()},
    ).json()
    row = next(r for r in body["districts"] if r["district_code"] == "500112")
    assert (row["new_confirmed"], row["conversions"], row["new_asymptomatic"]) == (1, 1, 1)
    assert row["new_infections"] == 1


def test_changed_cells_name_the_report_and_conversion_days(
    session: Session, protector: PersonalDataProtector
) -> None:
    since = at(DAY, 0)
    case = make_case(session, protector, district_code="500113")
    service.reclassify_case(
        session, principal=SYSTEM, case_id=case.id, classification="confirmed", at=at(NEXT), tz=TZ
    )
    district = case.report_district_id
    assert {(district, DAY), (district, NEXT)} <= metrics.changed_cells(session, since=since)
