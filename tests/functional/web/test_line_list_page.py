"""The line-list page: cells pasted from a spreadsheet (tab-separated) or a CSV file, refused
whole with every bad row named, or registered with each row's case or contact listed; a form sent
twice registers once; a role that registers nobody cannot open it."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.cases import make_case
from tests.factories.web import csrf_of, log_in
from xietong.cases.models import Case, CloseContact
from xietong.core.principal import Role
from xietong.people.protection import PersonalDataProtector

SHAPINGBA = "500106"


def _send(client: TestClient, **fields: str) -> object:
    return client.post(
        "/line-lists", data={"csrf": csrf_of(client), **fields}, follow_redirects=False
    )


def contacts_of(session: Session, case: Case) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(CloseContact).where(CloseContact.case_id == case.id)
        )
        or 0
    )


def test_pasted_cells_with_a_bad_row_are_refused_whole_then_the_good_rows_registered(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    case = make_case(session, protector, district_code=SHAPINGBA)
    log_in(app_client, session, role=Role.district_coordinator, district_code=SHAPINGBA)
    pasted = (
        "case_id\tname\tresidence_district_code\texposure_kind\n"
        f"{case.id}\t钱某\t{SHAPINGBA}\thousehold\n"
        f"{case.id}\t孙某\t{SHAPINGBA}\ttelepathy\n"
    )

    refused = _send(app_client, kind="contacts", pasted=pasted, form_key="ll-1")
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert 'data-error-record="line 3"' in refused.text  # type: ignore[attr-defined]
    assert "exposure_kind" in refused.text  # type: ignore[attr-defined]
    assert contacts_of(session, case) == 0

    loaded = _send(app_client, kind="contacts", pasted=pasted, load_valid="1", form_key="ll-2")
    assert loaded.status_code == 200, loaded.text  # type: ignore[attr-defined]
    assert 'id="registered"' in loaded.text  # type: ignore[attr-defined]
    assert contacts_of(session, case) == 1


def test_the_same_form_sent_twice_registers_once(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    case = make_case(session, protector, district_code=SHAPINGBA)
    log_in(app_client, session, role=Role.district_coordinator, district_code=SHAPINGBA)
    pasted = (
        f"case_id,name,residence_district_code,exposure_kind\n{case.id},周某,{SHAPINGBA},venue\n"
    )

    first = _send(app_client, kind="contacts", pasted=pasted, form_key="ll-twice")
    again = _send(app_client, kind="contacts", pasted=pasted, form_key="ll-twice")

    assert first.status_code == 200  # type: ignore[attr-defined]
    assert again.status_code == 303  # type: ignore[attr-defined]
    assert contacts_of(session, case) == 1


def test_a_laboratory_user_cannot_open_the_page(app_client: TestClient, session: Session) -> None:
    log_in(app_client, session, role=Role.lab)
    page = app_client.get("/line-lists")
    assert page.status_code == 403
    assert "<html" in page.text
