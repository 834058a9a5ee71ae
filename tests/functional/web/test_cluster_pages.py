"""Points on screen: the clusters of a jurisdiction, filtered and exported; one cluster with its
cases, confirmed or rejected from its page with a confirmation and a form key (a double submit
acts once); a district sees and decides its own clusters only; a case links to its cluster."""

from __future__ import annotations

import csv
import io
import re
from typing import get_args

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories.cases import make_case, person_at, residence_code
from tests.factories.web import csrf_of, log_in
from xietong.auth.models import AuditEntry
from xietong.cases.models import Case, Cluster
from xietong.cases.schemas import PlaceRole
from xietong.core.principal import Role
from xietong.people.protection import PersonalDataProtector
from xietong.web.i18n import STRINGS
from xietong.web.pages import clusters, lines


def _cluster(session: Session, protector: PersonalDataProtector, district: str) -> Cluster:
    """Two cases at home in one building of `district`: proposed as one cluster."""
    building = residence_code(session, district, 2)
    cases = [
        make_case(session, protector, person=person_at(session, protector, building))
        for _ in range(2)
    ]
    cluster = session.scalar(
        select(Cluster).where(Cluster.district_id == cases[0].report_district_id)
    )
    assert cluster is not None and cluster.status == "proposed"
    return cluster


def _ids(html: str) -> set[int]:
    return {int(i) for i in re.findall(r'data-cluster-id="(\d+)"', html)}


def _form_key(html: str, decision: str) -> str:
    found = re.search(
        rf'action="/clusters/\d+/{decision}" data-confirm="[^"]+">'
        r'.*?name="form_key" value="([^"]+)"',
        html,
        re.S,
    )
    assert found is not None, f"no {decision} form asking for confirmation"
    return found.group(1)


def test_the_clusters_list_filters_by_district_and_status_and_links_each_row(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    own = _cluster(session, protector, "500106")
    other = _cluster(session, protector, "500108")
    log_in(app_client, session, role=Role.command)
    page = app_client.get("/clusters")
    assert page.status_code == 200, page.text
    assert _ids(page.text) == {own.id, other.id}
    assert f'href="/clusters/{own.id}"' in page.text
    assert 'href="/clusters"' in page.text  # in the navigation
    assert _ids(app_client.get("/clusters?district=500108").text) == {other.id}
    assert _ids(app_client.get("/clusters?status=proposed").text) == {own.id, other.id}
    assert _ids(app_client.get("/clusters?status=confirmed").text) == set()

    data = {"csrf": csrf_of(app_client), "form_key": "reject-1", "note": "同楼不同单元"}
    rejected = app_client.post(f"/clusters/{other.id}/reject", data=data, follow_redirects=False)
    assert rejected.status_code == 303, rejected.text
    assert _ids(app_client.get("/clusters?status=rejected").text) == {other.id}
    assert _ids(app_client.get("/clusters?status=proposed").text) == {own.id}
    english = app_client.get("/clusters?status=rejected&lang=en")
    assert "Clusters" in english.text and "residential" in english.text


def test_a_cluster_is_confirmed_once_from_its_page_however_often_the_form_is_sent(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    cluster = _cluster(session, protector, "500106")
    principal = log_in(app_client, session, role=Role.district_coordinator, district_code="500106")
    page = app_client.get(f"/clusters/{cluster.id}")
    assert page.status_code == 200, page.text
    members = [int(i) for i in re.findall(r'<tr data-case-id="(\d+)"', page.text)]
    assert len(members) == 2
    for case_id in members:
        assert f'href="/cases/{case_id}"' in page.text
    _form_key(page.text, "reject")
    data = {"csrf": csrf_of(app_client), "form_key": _form_key(page.text, "confirm")}
    first = app_client.post(f"/clusters/{cluster.id}/confirm", data=data, follow_redirects=False)
    second = app_client.post(f"/clusters/{cluster.id}/confirm", data=data, follow_redirects=False)
    assert (first.status_code, second.status_code) == (303, 303)
    assert first.headers["location"] == f"/clusters/{cluster.id}"
    decisions = session.scalars(
        select(AuditEntry.action).where(
            AuditEntry.username == principal.username, AuditEntry.entity == "cluster"
        )
    ).all()
    assert decisions == ["confirm"]
    after = app_client.get(f"/clusters/{cluster.id}")
    assert 'data-status="confirmed"' in after.text
    assert 'data-decision="confirm"' not in after.text

    case_page = app_client.get(f"/cases/{members[0]}")
    assert f'<a href="/clusters/{cluster.id}" data-cluster-id="{cluster.id}">' in case_page.text


def test_a_later_case_at_a_confirmed_clusters_place_is_decided_on_its_page(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    cluster = _cluster(session, protector, "500106")
    log_in(app_client, session, role=Role.district_coordinator, district_code="500106")
    page = app_client.get(f"/clusters/{cluster.id}")
    data = {"csrf": csrf_of(app_client), "form_key": _form_key(page.text, "confirm")}
    app_client.post(f"/clusters/{cluster.id}/confirm", data=data, follow_redirects=False)
    assert "data-member-decision" not in app_client.get(f"/clusters/{cluster.id}").text
    # Two more cases at home in the same building: each joins the confirmed cluster, proposed.
    building = residence_code(session, "500106", 2)
    later, wrong = (
        make_case(session, protector, person=person_at(session, protector, building))
        for _ in range(2)
    )

    page = app_client.get(f"/clusters/{cluster.id}")
    for case in (later, wrong):
        row = re.search(
            rf'<tr data-case-id="{case.id}" data-status="proposed">(.*?)</tr>', page.text, re.S
        )
        assert row is not None
        for decision in ("confirm", "reject"):
            assert f'action="/clusters/{cluster.id}/members/{case.id}/{decision}"' in row.group(1)
    keys = dict(
        re.findall(
            r'action="/clusters/\d+/members/(\d+)/(?:confirm|reject)" data-confirm="[^"]+">'
            r'.*?name="form_key" value="([^"]+)"',
            page.text,
            re.S,
        )
    )
    decided = [
        app_client.post(
            f"/clusters/{cluster.id}/members/{case.id}/{decision}",
            data={"csrf": csrf_of(app_client), "form_key": keys[str(case.id)]},
            follow_redirects=False,
        ).status_code
        for case, decision in ((later, "confirm"), (wrong, "reject"), (wrong, "reject"))
    ]
    assert decided == [303, 303, 303]  # the second "reject" is the same form sent again
    after = app_client.get(f"/clusters/{cluster.id}")
    assert f'<tr data-case-id="{later.id}" data-status="confirmed">' in after.text
    assert f'<tr data-case-id="{wrong.id}" data-status="rejected">' in after.text
    assert "data-member-decision" not in after.text
    audit = session.scalars(
        select(AuditEntry.action).where(
            AuditEntry.entity == "cluster", AuditEntry.entity_id == str(cluster.id)
        )
    ).all()
    assert sorted(audit) == ["confirm", "confirm_member", "reject_member"]


def test_a_district_sees_and_decides_its_own_clusters_only(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    own = _cluster(session, protector, "500106")
    other = _cluster(session, protector, "500108")
    log_in(app_client, session, role=Role.district_coordinator, district_code="500106")
    assert _ids(app_client.get("/clusters").text) == {own.id}
    assert app_client.get(f"/clusters/{other.id}").status_code == 404
    refused = app_client.post(
        f"/clusters/{other.id}/confirm",
        data={"csrf": csrf_of(app_client), "form_key": "other-1"},
        follow_redirects=False,
    )
    assert refused.status_code == 404
    session.refresh(other)
    assert other.status == "proposed"
    unknown = app_client.post(
        f"/clusters/{own.id}/merge", data={"csrf": csrf_of(app_client)}, follow_redirects=False
    )
    assert unknown.status_code == 400
    forged = app_client.post(
        f"/clusters/{own.id}/confirm", data={"csrf": "forged"}, follow_redirects=False
    )
    assert forged.status_code == 403
    session.refresh(own)
    assert own.status == "proposed"

    log_in(app_client, session, role=Role.viewer)
    assert app_client.get("/clusters").status_code == 403
    assert app_client.get(f"/clusters/{own.id}").status_code == 403
    assert 'href="/clusters"' not in app_client.get("/zones").text


def test_the_clusters_export_is_an_audited_csv_with_a_byte_order_mark(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    cluster = _cluster(session, protector, "500106")
    principal = log_in(app_client, session, role=Role.command)
    exported = app_client.get("/clusters?format=csv&district=500106")
    assert exported.status_code == 200
    assert exported.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [int(r["id"]) for r in rows] == [cluster.id]
    assert rows[0]["status"] == "proposed" and rows[0]["cases"] == "2"
    case_ids = {int(i) for i in rows[0]["case_ids"].split()}
    assert len(case_ids) == 2
    assert all(session.get(Case, i) is not None for i in case_ids)
    assert rows[0]["address"]  # the building's address, in Chinese
    audited = session.scalars(
        select(AuditEntry.entity_id).where(
            AuditEntry.username == principal.username, AuditEntry.action == "export"
        )
    ).all()
    assert "clusters" in audited


def test_every_choice_of_the_points_and_lines_pages_has_words_in_both_languages() -> None:
    keys = [f"order.{s}" for s in lines.ORDER_STATUSES]
    keys += [f"clusters.filter_{s}" for s in clusters.STATUS_FILTERS]
    keys += [f"cluster.{s}" for s in ("proposed", "confirmed", "rejected", "active", "closed")]
    keys += [f"clusters.{d}" for d in clusters.DECISIONS]
    keys += [f"confirm.cluster_{d}" for d in clusters.DECISIONS]
    keys += [f"place.{r}" for r in ("residence", "found", *get_args(PlaceRole))]
    assert sorted(k for k in keys if k not in STRINGS) == []
