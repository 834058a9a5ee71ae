"""Laboratory results: the same result twice changes nothing, a different second result is a
conflict for a person (never an overwrite), an invalid tube is resampled, and a bad delivery is
refused whole with every bad record named."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import screening as f
from tests.factories.auth import command_user, district_user, make_user
from xietong.core.errors import PermissionDenied, ValidationFailed
from xietong.core.principal import SYSTEM, Role
from xietong.flows import intake
from xietong.people.protection import PersonalDataProtector
from xietong.screening import service
from xietong.screening.models import LabResult, ResampleTask, ResultConflict
from xietong.screening.schemas import ConflictResolve, SiteRead, TubeIn


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def tubes(
    session: Session, protector: PersonalDataProtector, n: int
) -> tuple[SiteRead, list[TubeIn]]:
    site = f.make_site(session)
    persons = [p.id for p in f.make_persons(session, protector, 2 * n)]
    made = [f.tube(site, persons[2 * i : 2 * i + 2]) for i in range(n)]
    f.register(session, *made)
    return site, made


def results_csv(rows: list[tuple[str, str, str]]) -> io.StringIO:
    lines = ["tube_code,result,ct_value,lab,reported_at"]
    lines += [
        f"{code},{outcome},{ct},LAB-01,2022-11-15T11:00:00+08:00" for code, outcome, ct in rows
    ]
    return io.StringIO("\n".join(lines) + "\n")


def load(session: Session, text: io.StringIO, **options: object) -> intake.IntakeReport:
    return intake.ingest_lab_results(
        session,
        principal=SYSTEM,
        stream=text,
        source_name="r.csv",
        tz=f.TZ,
        now=f.NOW,
        **options,  # type: ignore[arg-type]
    )


def test_the_same_results_twice_change_nothing(
    session: Session, protector: PersonalDataProtector
) -> None:
    _, made = tubes(session, protector, 4)
    rows = [(t.tube_code, "negative", "") for t in made[:3]] + [
        (made[3].tube_code, "positive", "31.2")
    ]
    first = load(session, results_csv(rows)).results
    snapshot = (count(session, LabResult), count(session, ResultConflict))
    again = load(session, results_csv(rows)).results
    assert (first.applied, first.negative, first.positive, first.pooled_positive) == (4, 3, 1, 1)
    assert (again.applied, again.unchanged, again.conflicts, again.holds) == (0, 4, 0, 0)
    assert (count(session, LabResult), count(session, ResultConflict)) == snapshot


def test_a_different_second_result_is_kept_as_a_conflict_not_an_overwrite(
    session: Session, protector: PersonalDataProtector
) -> None:
    _, made = tubes(session, protector, 1)
    code = made[0].tube_code
    f.report(session, f.result(code, "negative"))
    second = f.report(session, f.result(code, "positive", ct=25.0, lab="LAB-02"))
    third = f.report(session, f.result(code, "positive", ct=25.0, lab="LAB-02"))
    assert (second.conflicts, second.applied) == (1, 0)
    assert (third.conflicts, third.unchanged) == (0, 0)  # the same differing result: one conflict
    assert service.get_tube(session, principal=SYSTEM, code=code).result.outcome == "negative"  # type: ignore[union-attr]
    conflicts, _total = service.list_conflicts(session, principal=SYSTEM)
    mine = [c for c in conflicts if c.tube_code == code]
    assert [(c.current.outcome, c.reported.outcome, c.reported.lab) for c in mine] == [
        ("negative", "positive", "LAB-02")
    ]


def test_two_different_results_in_one_delivery_apply_the_first_and_keep_the_second(
    session: Session, protector: PersonalDataProtector
) -> None:
    _, made = tubes(session, protector, 1)
    code = made[0].tube_code
    report = load(
        session,
        results_csv([(code, "negative", ""), (code, "negative", ""), (code, "invalid", "")]),
    )
    assert (report.results.applied, report.results.unchanged, report.results.conflicts) == (1, 1, 1)


def test_keeping_the_reported_result_replaces_it_and_sets_off_its_effects(
    session: Session, protector: PersonalDataProtector
) -> None:
    _, made = tubes(session, protector, 1)
    code = made[0].tube_code
    f.report(session, f.result(code, "negative"))
    f.report(session, f.result(code, "positive", ct=24.0))
    conflict = next(
        c for c in service.list_conflicts(session, principal=SYSTEM)[0] if c.tube_code == code
    )
    resolution = service.resolve_conflict(
        session,
        principal=SYSTEM,
        conflict_id=conflict.id,
        decision=ConflictResolve(keep="reported", note="复核阳性"),
        now=f.NOW,
    )
    assert resolution.conflict.status == "replaced"
    assert resolution.effects is not None and resolution.effects.holds == 2
    assert service.get_tube(session, principal=SYSTEM, code=code).result.outcome == "positive"  # type: ignore[union-attr]
    # Correcting it back to negative ends the holds and cancels the retests nobody has done.
    f.report(session, f.result(code, "negative", ct=None, lab="LAB-09"))
    back = next(
        c for c in service.list_conflicts(session, principal=SYSTEM)[0] if c.tube_code == code
    )
    undone = service.resolve_conflict(
        session,
        principal=SYSTEM,
        conflict_id=back.id,
        decision=ConflictResolve(keep="reported", note="污染，复检阴性"),
        now=f.NOW + timedelta(hours=1),
    )
    assert (undone.holds_released, undone.tasks_cancelled) == (2, 2)
    assert not any(
        service.is_held(session, person_id=pid, at=f.NOW + timedelta(hours=2))
        for pid in made[0].person_ids
    )


def test_a_resolved_conflict_cannot_be_resolved_again(
    session: Session, protector: PersonalDataProtector
) -> None:
    from xietong.core.errors import Conflict

    _, made = tubes(session, protector, 1)
    code = made[0].tube_code
    f.report(session, f.result(code, "negative"))
    f.report(session, f.result(code, "invalid"))
    conflict = next(
        c for c in service.list_conflicts(session, principal=SYSTEM)[0] if c.tube_code == code
    )
    decision = ConflictResolve(keep="current", note="重复上传")
    kept = service.resolve_conflict(
        session, principal=SYSTEM, conflict_id=conflict.id, decision=decision, now=f.NOW
    )
    assert kept.conflict.status == "kept" and kept.conflict.resolved_by == "system"
    with pytest.raises(Conflict):
        service.resolve_conflict(
            session, principal=SYSTEM, conflict_id=conflict.id, decision=decision, now=f.NOW
        )


def test_an_invalid_tube_creates_one_resample_task_in_the_sampling_district(
    session: Session, protector: PersonalDataProtector
) -> None:
    site, made = tubes(session, protector, 1)
    code = made[0].tube_code
    report = f.report(session, f.result(code, "无效"))
    f.report(session, f.result(code, "invalid"))
    assert report.resample_tasks == 1
    tasks, _ = service.list_resample_tasks(session, principal=SYSTEM)
    assert [
        (t.district_code, t.site_code, t.member_count) for t in tasks if t.tube_code == code
    ] == [("500103", site.code, 2)]
    assert session.scalar(select(func.count()).where(ResampleTask.status == "open")) == 1


def test_a_bad_file_is_refused_whole_listing_every_bad_record(
    session: Session, protector: PersonalDataProtector, tmp_path: Path
) -> None:
    _, made = tubes(session, protector, 2)
    text = (
        "\n".join(
            [
                "tube_code,result,ct_value,lab,reported_at",
                f"{made[0].tube_code},negative,,LAB-01,2022-11-15T11:00:00+08:00",
                "NO-SUCH-TUBE,negative,,LAB-01,2022-11-15T11:00:00+08:00",
                f"{made[1].tube_code},maybe,99,LAB-01,2022-11-15T11:00:00+08:00",
                f"{made[1].tube_code},negative,,LAB-01,2022-11-15T07:00:00+08:00",
            ]
        )
        + "\n"
    )
    before = count(session, LabResult)
    with pytest.raises(ValidationFailed) as refused, session.begin_nested():
        load(session, io.StringIO(text))
    assert sorted((e.record, e.field) for e in refused.value.errors) == [
        ("line 3", "tube_code"),
        ("line 4", "ct_value"),
        ("line 4", "result"),
        ("line 5", "reported_at"),
    ]
    assert count(session, LabResult) == before
    rejects = tmp_path / "rejects.csv"
    report = load(session, io.StringIO(text), load_valid=True, rejects_path=rejects).results
    assert (report.applied, report.rows_rejected, report.rejects_file) == (1, 3, str(rejects))
    assert rejects.read_text(encoding="utf-8").count("\n") == 4


def test_laboratories_post_results_and_viewers_may_not(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    _, made = tubes(session, protector, 1)
    _, lab_token = make_user(session, role=Role.lab)
    _, viewer_token = make_user(session, role=Role.viewer)
    body = {
        "results": [
            {
                "tube_code": made[0].tube_code,
                "result": "negative",
                "lab": "LAB-01",
                "reported_at": "2022-11-15T11:00:00+08:00",
            }
        ]
    }
    assert (
        app_client.post("/api/screening/results", json=body, headers=auth(viewer_token)).status_code
        == 403
    )
    posted = app_client.post("/api/screening/results", json=body, headers=auth(lab_token))
    assert posted.status_code == 200, posted.text
    assert posted.json()["results"]["applied"] == 1
    again = app_client.post("/api/screening/results", json=body, headers=auth(lab_token))
    assert again.json()["results"]["unchanged"] == 1


def test_the_api_refuses_bad_results_with_422_and_writes_nothing(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    _, made = tubes(session, protector, 1)
    _, token = command_user(session)
    before = count(session, LabResult)
    body = {
        "results": [
            {
                "tube_code": made[0].tube_code,
                "result": "negative",
                "lab": "LAB-01",
                "reported_at": "2022-11-15T11:00:00+08:00",
            },
            {
                "tube_code": "NOPE",
                "result": "positive",
                "lab": "LAB-01",
                "reported_at": "2022-11-15T11:00:00+08:00",
            },
            {
                "tube_code": made[0].tube_code,
                "result": "??",
                "lab": "LAB-01",
                "reported_at": "2022-11-15T11:00:00+08:00",
            },
        ]
    }
    response = app_client.post("/api/screening/results", json=body, headers=auth(token))
    assert response.status_code == 422
    details = [(d["record"], d["field"]) for d in response.json()["error"]["details"]]
    assert sorted(details) == [("results[1]", "tube_code"), ("results[2]", "result")]
    assert count(session, LabResult) == before


def test_conflicts_are_listed_and_resolved_through_the_api_within_the_district(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    _, made = tubes(session, protector, 1)
    code = made[0].tube_code
    f.report(session, f.result(code, "negative"))
    f.report(session, f.result(code, "positive", ct=30.0))
    _, mine = district_user(session, "500103")
    _, theirs = district_user(session, "500106")
    listed = app_client.get("/api/screening/conflicts", headers=auth(mine)).json()
    conflict = next(c for c in listed["items"] if c["tube_code"] == code)
    assert all(
        c["tube_code"] != code
        for c in app_client.get("/api/screening/conflicts", headers=auth(theirs)).json()["items"]
    )
    url = f"/api/screening/conflicts/{conflict['id']}/resolve"
    assert (
        app_client.post(
            url, json={"keep": "current", "note": "x"}, headers=auth(theirs)
        ).status_code
        == 404
    )
    done = app_client.post(
        url, json={"keep": "current", "note": "实验室确认原结果"}, headers=auth(mine)
    )
    assert done.status_code == 200, done.text
    assert done.json()["conflict"]["status"] == "kept"


def test_only_result_handlers_see_conflicts(session: Session) -> None:
    principal, _ = make_user(session, role=Role.field_worker)
    with pytest.raises(PermissionDenied):
        service.list_conflicts(session, principal=principal)


def test_a_laboratory_uploads_a_results_file_through_the_api(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    _, made = tubes(session, protector, 2)
    _, lab_token = make_user(session, role=Role.lab)
    text = (
        "tube_code,result,ct_value,lab,reported_at\n"
        f"{made[0].tube_code},阴性,,LAB-07,2022-11-15 11:00:00\n"
        f"{made[1].tube_code},阳性,31.5,LAB-07,2022-11-15 11:00:00\n"
    )
    files = {"file": ("plate-17.csv", text.encode("utf-8"), "text/csv")}
    posted = app_client.post("/api/screening/results/import", files=files, headers=auth(lab_token))
    assert posted.status_code == 200, posted.text
    results = posted.json()["results"]
    assert (results["applied"], results["positive"], results["holds"]) == (2, 1, 2)
    bad = {"file": ("bad.csv", b"tube_code,result\nX,negative\n", "text/csv")}
    refused = app_client.post("/api/screening/results/import", files=bad, headers=auth(lab_token))
    assert refused.status_code == 422
    assert {d["field"] for d in refused.json()["error"]["details"]} == {"lab", "reported_at"}
