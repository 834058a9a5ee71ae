"""HL7 v2 ORU^R01 results go through the same intake as a CSV file: a positive pool gives the
same holds, retests and referrals; the same message twice changes nothing; a bad OBX or an
unknown tube is answered AE naming the segment and field, and nothing of that message is
written while the other messages of the delivery are applied."""

from __future__ import annotations

import io
from collections.abc import Sequence

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import interop as hl7f
from tests.factories import screening as f
from tests.factories.auth import make_user
from xietong.cases.models import Case
from xietong.core.principal import SYSTEM, Role
from xietong.flows import intake
from xietong.interop import hl7v2, service
from xietong.interop.router import HL7_MEDIA_TYPE
from xietong.people.protection import PersonalDataProtector
from xietong.referrals.models import Referral
from xietong.screening.models import (
    Hold,
    LabResult,
    ReferralNeed,
    ResampleTask,
    RetestTask,
    Tube,
)


def receive(session: Session, *messages: str) -> service.Hl7Answer:
    return service.receive_hl7(
        session, principal=SYSTEM, messages=list(messages), source="test", tz=f.TZ, now=f.NOW
    )


def scenario(session: Session, protector: PersonalDataProtector) -> tuple[list[str], list[int]]:
    """A positive pool of a local, a resident of 500106 staying here and a local now in 500112;
    a negative pool; an invalid tube; a positive single tube. Tube codes and persons in order."""
    site = f.make_site(session, district_code="500103")
    local = f.make_persons(session, protector, 1, district_code="500103")[0]
    visitor = f.make_persons(
        session, protector, 1, district_code="500106", current_district_code="500103"
    )[0]
    away = f.make_persons(
        session, protector, 1, district_code="500103", current_district_code="500112"
    )[0]
    others = f.make_persons(session, protector, 4, district_code="500106")
    persons = [local.id, visitor.id, away.id, *[p.id for p in others]]
    tubes = [
        f.tube(site, persons[:3]),
        f.tube(site, persons[3:5]),
        f.tube(site, persons[5:6], pool_size=1),
        f.tube(site, persons[6:7], pool_size=1),
    ]
    f.register(session, *tubes)
    return [t.tube_code for t in tubes], persons


OUTCOMES = [("positive", 27.5), ("negative", None), ("invalid", None), ("positive", 22.0)]


def effects(session: Session, codes: Sequence[str], persons: Sequence[int]) -> dict[str, object]:
    """What the results set off, with persons and tubes by their place in the scenario."""
    tube_ids = dict(session.execute(select(Tube.id, Tube.code).where(Tube.code.in_(codes))).all())
    tube_at = {tube_id: codes.index(code) for tube_id, code in tube_ids.items()}
    person_at = {pid: k for k, pid in enumerate(persons)}
    return {
        "results": sorted(
            (tube_at[r.tube_id], r.outcome, r.ct_value, r.lab_code, r.reported_at)
            for r in session.scalars(select(LabResult).where(LabResult.tube_id.in_(tube_at)))
        ),
        "holds": sorted(
            (person_at[h.person_id], tube_at[h.tube_id], h.district_id, h.held_from)
            for h in session.scalars(select(Hold).where(Hold.tube_id.in_(tube_at)))
        ),
        "retests": sorted(
            (person_at[r.person_id], r.district_id, r.status)
            for r in session.scalars(
                select(RetestTask).where(RetestTask.source_tube_id.in_(tube_at))
            )
        ),
        "needs": sorted(
            (person_at[n.person_id], n.reason, n.from_district_id, n.to_district_id)
            for n in session.scalars(select(ReferralNeed).where(ReferralNeed.tube_id.in_(tube_at)))
        ),
        "referrals": sorted(
            (person_at[r.person_id], r.reason, r.from_district_id, r.to_district_id, r.status)
            for r in session.scalars(select(Referral).where(Referral.person_id.in_(persons)))
        ),
        "cases": sorted(
            person_at[c.person_id]
            for c in session.scalars(select(Case).where(Case.person_id.in_(persons)))
        ),
        "resamples": sorted(
            tube_at[t.tube_id]
            for t in session.scalars(select(ResampleTask).where(ResampleTask.tube_id.in_(tube_at)))
        ),
    }


def test_an_oru_file_with_a_positive_pool_sets_off_what_the_same_csv_does(
    session: Session, protector: PersonalDataProtector
) -> None:
    csv_codes, csv_persons = scenario(session, protector)
    hl7_codes, hl7_persons = scenario(session, protector)
    lines = ["tube_code,result,ct_value,lab,reported_at"]
    lines += [
        f"{code},{outcome},{'' if ct is None else ct},LAB-01,{hl7f.REPORTED_AT.isoformat()}"
        for code, (outcome, ct) in zip(csv_codes, OUTCOMES, strict=True)
    ]
    csv_report = intake.ingest_lab_results(
        session,
        principal=SYSTEM,
        stream=io.StringIO("\n".join(lines) + "\n"),
        source_name="r.csv",
        tz=f.TZ,
        now=f.NOW,
    )
    # One file of ORU^R01 messages, as a laboratory's batch (FHS/BHS ... BTS/FTS).
    messages = [
        hl7f.message(code, outcome, ct=ct, pooled=k < 2)
        for k, (code, (outcome, ct)) in enumerate(zip(hl7_codes, OUTCOMES, strict=True))
    ]
    text = "FHS|^~\\&|LIS\rBHS|^~\\&|LIS\r" + "".join(messages) + "BTS|4\rFTS|1\r"
    answer = receive(session, *hl7v2.split_messages(text))
    assert [a.split("\r")[1] for a in answer.acks] == [
        f"MSA|AA|{m.split('|')[9]}" for m in messages
    ]
    assert answer.results is not None
    assert answer.results.model_dump(exclude={"batch_id"}) == csv_report.results.model_dump(
        exclude={"batch_id"}
    )
    assert answer.results.holds == 3 and answer.results.referral_needs >= 2
    csv_effects = effects(session, csv_codes, csv_persons)
    assert csv_effects["holds"] and csv_effects["referrals"] and csv_effects["cases"]
    assert effects(session, hl7_codes, hl7_persons) == csv_effects


def test_the_same_message_twice_changes_nothing(
    session: Session, protector: PersonalDataProtector
) -> None:
    codes, persons = scenario(session, protector)
    message = hl7f.message(codes[0], "positive", ct=27.5, pooled=True)
    first = receive(session, message)
    before = effects(session, codes, persons)
    again = receive(session, message)
    assert again.accepted == 1 and again.results is not None
    assert (again.results.applied, again.results.unchanged, again.results.holds) == (0, 1, 0)
    assert effects(session, codes, persons) == before
    assert first.results is not None and first.results.applied == 1


def test_a_bad_obx_is_answered_ae_naming_it_and_the_rest_is_applied(
    session: Session, protector: PersonalDataProtector
) -> None:
    codes, _ = scenario(session, protector)
    good = hl7f.message(codes[1], "negative")
    bad = hl7f.message(codes[0], "positive").replace("462371000124108", "999999999")
    bad = bad.replace("260373001^Detected", "999999999^Made up")
    answer = receive(session, bad, good)
    assert (answer.accepted, answer.errors, answer.rejected) == (1, 1, 0)
    ack = answer.acks[0].split("\r")
    assert ack[1].startswith("MSA|AE|")
    assert ack[2].startswith("ERR||OBX^1^5^1^1|103^Table value not found^HL70357|E")
    assert "unknown SNOMED CT result code" in ack[2]
    assert answer.acks[1].split("\r")[1].startswith("MSA|AA|")
    written = set(
        session.scalars(
            select(Tube.code)
            .join(LabResult, LabResult.tube_id == Tube.id)
            .where(Tube.code.in_(codes))
        )
    )
    assert written == {codes[1]}


def test_an_unknown_tube_is_answered_ae_naming_spm_2(
    session: Session, protector: PersonalDataProtector
) -> None:
    codes, _ = scenario(session, protector)
    answer = receive(
        session,
        hl7f.message("NO-SUCH-TUBE", "negative"),
        hl7f.message(codes[1], "negative"),
    )
    assert (answer.accepted, answer.errors) == (1, 1)
    ack = answer.acks[0].split("\r")
    assert ack[1].startswith("MSA|AE|")
    assert ack[2].startswith("ERR||SPM^1^2^1^1|204^Unknown key identifier^HL70357|E")
    assert "unknown tube" in ack[2]
    assert answer.results is not None and answer.results.applied == 1


def test_a_message_that_is_not_a_result_is_rejected(session: Session) -> None:
    adt = "MSH|^~\\&|HIS|H1|XIETONG|XIETONG|20221115100000+0800||ADT^A01|X1|P|2.5.1\rPID|1\r"
    answer = receive(session, adt)
    assert answer.rejected == 1
    lines = answer.acks[0].split("\r")
    assert lines[1] == "MSA|AR|X1"
    assert lines[2].startswith("ERR||MSH^1^9^1^1|200^Unsupported message type")


def test_laboratories_post_hl7_over_the_api_and_viewers_may_not(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    codes, _ = scenario(session, protector)
    _, lab_token = make_user(session, role=Role.lab)
    _, viewer_token = make_user(session, role=Role.viewer)
    body = hl7f.message(codes[1], "negative", control_id="API-1")
    refused = app_client.post(
        "/api/labs/hl7",
        content=body,
        headers={"Content-Type": HL7_MEDIA_TYPE, "Authorization": f"Bearer {viewer_token}"},
    )
    assert refused.status_code == 403
    posted = app_client.post(
        "/api/labs/hl7", content=body, headers={"Authorization": f"Bearer {lab_token}"}
    )
    assert posted.status_code == 200, posted.text
    assert posted.text.split("\r")[1] == "MSA|AA|API-1"
    summary = app_client.post(
        "/api/labs/hl7",
        content=body,
        headers={"Authorization": f"Bearer {lab_token}", "Accept": "application/json"},
    )
    assert summary.json()["results"]["unchanged"] == 1
    tube_id = session.scalar(select(Tube.id).where(Tube.code == codes[1]))
    stored = select(func.count()).select_from(LabResult).where(LabResult.tube_id == tube_id)
    assert session.scalar(stored) == 1
