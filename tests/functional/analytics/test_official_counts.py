"""Official counts from CSV: the whole file or nothing, every bad field named, a corrected file
replaces the figures, and only the command centre imports."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.analytics import (
    REFERENCE_TOTAL,
    import_official,
    official_csv,
    reference_14_nov_rows,
)
from tests.factories.auth import command_user, district_user
from xietong.analytics import official
from xietong.analytics.models import OfficialCount
from xietong.core.errors import PermissionDenied, ValidationFailed
from xietong.core.principal import Principal, Role

NOW = datetime(2022, 11, 14, 11, tzinfo=UTC)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def count_rows(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(OfficialCount)) or 0


def test_the_reference_partial_day_is_imported_with_its_period(session: Session) -> None:
    report = import_official(session, reference_14_nov_rows())

    assert (report.rows_read, report.added, report.rows_rejected) == (23, 23, 0)
    assert report.days == [date(2022, 11, 14)]
    rows = session.scalars(select(OfficialCount)).all()
    assert {row.until_minute for row in rows} == {18 * 60}
    assert sum(row.new_confirmed for row in rows) == REFERENCE_TOTAL


def test_importing_the_same_file_again_changes_nothing(session: Session) -> None:
    import_official(session, reference_14_nov_rows())

    again = import_official(session, reference_14_nov_rows())

    assert (again.added, again.replaced, again.unchanged) == (0, 0, 23)
    assert count_rows(session) == 23


def test_a_corrected_file_replaces_the_figures_it_changes(session: Session) -> None:
    import_official(session, reference_14_nov_rows())
    corrected = reference_14_nov_rows()
    corrected[0]["new_confirmed"] = 28

    report = import_official(session, corrected, name="corrected.csv")

    assert (report.added, report.replaced, report.unchanged) == (0, 1, 22)
    row = session.scalars(select(OfficialCount).where(OfficialCount.new_confirmed == 28)).one()
    assert row.source == "corrected.csv"


def test_districts_may_be_named_by_code_or_by_name_in_either_script_or_english(
    session: Session,
) -> None:
    rows = [
        {"district": name, "day": "2022-11-14", "new_confirmed": 1, "new_asymptomatic": 0}
        for name in ("500106", "巴南区", "九龍坡區", "Dadukou District")
    ]

    assert import_official(session, rows).added == 4


def test_a_whole_day_and_a_partial_day_of_one_district_are_kept_apart(session: Session) -> None:
    base = {"district": "500106", "day": "2022-11-14", "new_asymptomatic": 0}
    rows = [
        base | {"until": "18:00", "new_confirmed": 27},
        base | {"until": "", "new_confirmed": 30},
        base | {"until": "24:00", "new_confirmed": 30},
    ]
    # "" and "24:00" both mean the whole day: the third row repeats the second.
    with pytest.raises(ValidationFailed) as refused:
        import_official(session, rows)
    assert [(e.record, e.field) for e in refused.value.errors] == [("line 4", "district")]
    assert "line 3" in refused.value.errors[0].reason

    assert import_official(session, rows[:2]).added == 2


def test_a_bad_file_is_refused_whole_with_every_bad_field_named(session: Session) -> None:
    rows: list[dict[str, object]] = [
        {"district": "500106", "day": "2022-11-14", "new_confirmed": 3, "new_asymptomatic": 1},
        {"district": "火星区", "day": "2022-11-14", "new_confirmed": 1, "new_asymptomatic": 0},
        {"district": "500113", "day": "14/11/2022", "new_confirmed": 1, "new_asymptomatic": 0},
        {"district": "500104", "day": "2022-11-14", "new_confirmed": -2, "new_asymptomatic": 0},
        {"district": "500107", "day": "2022-11-14", "new_confirmed": 1, "new_asymptomatic": 0}
        | {"conversions": 2},
        {"district": "500108", "day": "2022-11-14", "new_confirmed": 2, "new_asymptomatic": 2}
        | {"found_under_control": 1, "found_on_surface": 1},
        {"district": "500109", "day": "2022-11-14", "new_confirmed": 1, "new_asymptomatic": 0}
        | {"until": "25:00"},
        {"district": "500110", "day": "2022-11-14", "new_confirmed": "", "new_asymptomatic": 0},
    ]

    with pytest.raises(ValidationFailed) as refused:
        import_official(session, rows)

    assert [(e.record, e.field) for e in refused.value.errors] == [
        ("line 3", "district"),
        ("line 4", "day"),
        ("line 5", "new_confirmed"),
        ("line 6", "conversions"),
        ("line 7", "found_on_surface"),
        ("line 8", "until"),
        ("line 9", "new_confirmed"),
    ]
    assert count_rows(session) == 0


def test_load_valid_writes_the_good_rows_and_the_rejects_file(
    session: Session, tmp_path: Path
) -> None:
    rows = [
        {"district": "500106", "day": "2022-11-14", "new_confirmed": 3, "new_asymptomatic": 1},
        {"district": "火星区", "day": "2022-11-14", "new_confirmed": 1, "new_asymptomatic": 0},
    ]
    rejects = tmp_path / "rejects.csv"

    report = official.import_official_counts(
        session,
        principal=Principal(user_id=0, username="chief", role=Role.command, district_id=None),
        stream=io.StringIO(official_csv(rows)),
        source_name="mixed.csv",
        now=NOW,
        load_valid=True,
        rejects_path=rejects,
    )

    assert (report.added, report.rows_rejected) == (1, 1)
    assert "unknown district" in rejects.read_text(encoding="utf-8")


def test_only_the_command_centre_imports_official_counts(session: Session) -> None:
    coordinator, _ = district_user(session, "500106")
    with pytest.raises(PermissionDenied):
        official.import_official_counts(
            session,
            principal=coordinator,
            stream=io.StringIO(official_csv(reference_14_nov_rows())),
            source_name="x.csv",
            now=NOW,
        )


def test_the_api_imports_lists_and_refuses_a_district_user(
    app_client: TestClient, session: Session
) -> None:
    _, chief = command_user(session)
    _, coordinator = district_user(session, "500106")
    upload = {"file": ("bulletin.csv", official_csv(reference_14_nov_rows()), "text/csv")}

    refused = app_client.post(
        "/api/analytics/official-counts", files=upload, headers=auth(coordinator)
    )
    imported = app_client.post("/api/analytics/official-counts", files=upload, headers=auth(chief))
    listed = app_client.get(
        "/api/analytics/official-counts",
        params={"district": "500106", "limit": 5},
        headers=auth(coordinator),
    )

    assert refused.status_code == 403
    assert imported.status_code == 200, imported.text
    assert imported.json()["added"] == 23
    page = listed.json()
    assert page["total"] == 1
    assert page["items"][0] | {"imported_at": None} == {
        "district_code": "500106",
        "day": "2022-11-14",
        "until": "18:00",
        "new_confirmed": 27,
        "new_asymptomatic": 0,
        "conversions": 0,
        "found_under_control": None,
        "found_on_surface": None,
        "source": "bulletin.csv",
        "imported_at": None,
    }


def test_a_refused_upload_answers_with_the_row_errors(
    app_client: TestClient, session: Session
) -> None:
    _, chief = command_user(session)
    bad = official_csv(
        [{"district": "火星区", "day": "2022-11-14", "new_confirmed": 1, "new_asymptomatic": 0}]
    )

    response = app_client.post(
        "/api/analytics/official-counts",
        files={"file": ("bad.csv", bad, "text/csv")},
        headers=auth(chief),
    )

    assert response.status_code == 422
    assert response.json()["error"]["details"][0] == {
        "record": "line 2",
        "field": "district",
        "reason": "unknown district",
        "value": "火星区",
    }
