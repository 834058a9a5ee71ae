"""A refused form says what is wrong in the page's language: the referral form and the contact
form list each field by its label with the reason (missing, too long, not a number, not one of
the choices), and a service's refusal is translated where it is known; no Pydantic English."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.cases import make_case
from tests.factories.people import make_person
from tests.factories.web import csrf_of, log_in
from xietong.core.principal import Role
from xietong.people.protection import PersonalDataProtector


def listed(html: str) -> dict[str, str]:
    box = re.search(r'<ul id="form-errors">(.*?)</ul>', html, re.S)
    assert box is not None, "no error list"
    return dict(re.findall(r'<li data-field="(\w+)">([^<]+)</li>', box.group(1)))


def test_a_bad_referral_form_is_refused_field_by_field_in_chinese_and_english(
    app_client: TestClient, session: Session
) -> None:
    log_in(app_client, session, role=Role.district_coordinator, district_code="500106")
    bad = {"csrf": csrf_of(app_client), "person_id": "abc", "reason": "", "evidence": ""}
    refused = app_client.post("/referrals/new", data=bad)
    assert refused.status_code == 422
    assert listed(refused.text) == {
        "person_id": "“人员编号”须为数字",
        "reason": "“原因”须从选项中选择",
        "evidence": "请填写“依据”",
        "to_district": "请填写“接收区”",
    }
    assert "Input should" not in refused.text and "String should" not in refused.text
    long = {**bad, "person_id": "1", "reason": "manual", "evidence": "x" * 121}
    too_long = app_client.post("/referrals/new?lang=en", data={**long, "to_district": "500108"})
    assert listed(too_long.text) == {"evidence": "Evidence: at most 120 characters"}


def test_a_services_refusal_of_the_referral_form_is_named_by_its_label(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    person = make_person(session, protector, district_code="500106")
    log_in(app_client, session, role=Role.district_coordinator, district_code="500106")
    data = {
        "csrf": csrf_of(app_client),
        "person_id": str(person.id),
        "reason": "manual",
        "evidence": "电话 1",
        "to_district": "500106",
    }
    refused = app_client.post("/referrals/new?lang=zh", data=data)
    assert refused.status_code == 422
    assert listed(refused.text) == {"to_district": "“接收区”：此人属于推送区本区，无需协查"}


def test_a_bad_contact_form_is_refused_in_the_readers_words(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    case = make_case(session, protector, district_code="500106")
    log_in(app_client, session, role=Role.district_coordinator, district_code="500106")
    data = {"csrf": csrf_of(app_client), "national_id": "123", "exposure_kind": ""}
    refused = app_client.post(f"/cases/{case.id}/contacts?lang=zh", data=data)
    assert refused.status_code == 422
    assert listed(refused.text) == {
        "national_id": "“证件号”至少 15 个字符",
        "exposure_kind": "“接触方式”须从选项中选择",
    }
    nameless = {"csrf": csrf_of(app_client), "name": "周十", "exposure_kind": "household"}
    unplaced = app_client.post(f"/cases/{case.id}/contacts", data=nameless)
    assert listed(unplaced.text) == {"contact": "没有证件号的密接须填写居住楼栋编码或居住区县"}
