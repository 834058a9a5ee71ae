"""Points on screen: the clusters of the jurisdiction (filtered by district and status, paged,
exported as CSV) and one cluster with its cases, confirmed or rejected from its page.

Reads and decisions go through `cluster_service` (`list_clusters`, `get_cluster`,
`decide_cluster`), the functions behind `/api/cases/clusters`: a district sees and decides the
clusters at its own buildings only, and another district's cluster is not found.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, cast

from fastapi import APIRouter, Form
from fastapi.responses import Response
from sqlalchemy.orm import Session

from xietong.api.deps import SessionDep
from xietong.areas import service as areas_service
from xietong.cases.clusters import service as cluster_service
from xietong.cases.schemas import ClusterFilter, ClusterRead
from xietong.core.clock import local_day
from xietong.core.errors import DomainError
from xietong.core.principal import Permission, Principal
from xietong.web.export import csv_response
from xietong.web.pages.cases import CASE_ROLES
from xietong.web.pages.common import act, guard
from xietong.web.pages.listing import ExportableListPage
from xietong.web.rendering import render
from xietong.web.session import Viewer, ViewerDep

router = APIRouter(include_in_schema=False)

STATUS_FILTERS = ("all", "proposed", "active", "confirmed", "rejected", "closed")
DECISIONS = ("confirm", "reject")
Text = Annotated[str, Form()]


def _addresses(session: Session, clusters: list[Any]) -> dict[int, str]:
    """Cluster id → the address of its building."""
    places = areas_service.buildings_by_id(session, ids=[c.building_id for c in clusters])
    return {c.id: places[c.building_id].address_label for c in clusters}


@router.get("/clusters")
def clusters_page(
    listing: ExportableListPage, district: str | None = None, status: str | None = None
) -> Response:
    session = listing.session
    today = local_day(listing.viewer.now, listing.viewer.settings.timezone)
    chosen = status if status in STATUS_FILTERS else "all"
    filters = {"district": district, "status": chosen}

    def build(principal: Principal) -> Response:
        found, total = cluster_service.list_clusters(
            session,
            principal=principal,
            status=None if chosen == "all" else cast(ClusterFilter, chosen),
            district_code=district or None,
            today=today,
            limit=listing.limit,
            offset=listing.offset,
        )
        reads = cluster_service.to_reads(session, found, today=today)
        addresses = _addresses(session, found)
        if listing.exporting:
            return csv_response(
                session,
                principal=principal,
                name="clusters",
                header=[
                    "id",
                    "building",
                    "address",
                    "district",
                    "place_kind",
                    "status",
                    "active",
                    "first_case_day",
                    "last_case_day",
                    "closes_on",
                    "cases",
                    "case_ids",
                ],
                rows=[_row(c, addresses[c.id]) for c in reads],
                detail=filters,
            )
        context = {"status_filters": STATUS_FILTERS, "addresses": addresses}
        return listing.render(
            "clusters.html", listing.page(reads, total), filters=filters, context=context
        )

    return listing.guard(build, roles=CASE_ROLES)


def _row(c: ClusterRead, address: str) -> list[object]:
    return [
        c.id,
        c.building_code,
        address,
        c.district_code,
        c.place_kind,
        c.status,
        c.active,
        c.first_case_day.isoformat(),
        c.last_case_day.isoformat(),
        c.closes_on.isoformat(),
        c.cases,
        " ".join(str(m.case_id) for m in c.members if m.status != "rejected"),
    ]


@router.get("/clusters/{cluster_id}")
def cluster_page(cluster_id: int, viewer: ViewerDep, session: SessionDep) -> Response:
    today = local_day(viewer.now, viewer.settings.timezone)

    def build(principal: Principal) -> Response:
        cluster = cluster_service.get_cluster(session, principal=principal, cluster_id=cluster_id)
        read = cluster_service.to_reads(session, [cluster], today=today)[0]
        context = {
            "cluster": read,
            "address": _addresses(session, [cluster])[cluster.id],
            "may_decide": principal.can(Permission.write_persons),
        }
        return render(viewer, session, "cluster.html", context)

    return guard(viewer, session, build, roles=CASE_ROLES)


@router.post("/clusters/{cluster_id}/{decision}")
def decide(
    cluster_id: int,
    decision: str,
    viewer: ViewerDep,
    session: SessionDep,
    csrf: Text = "",
    note: Text = "",
    form_key: Text = "",
) -> Response:
    """Confirm or reject the cluster with its proposed cases, as the API's decision does."""

    def run(principal: Principal, chosen: cluster_service.Decision) -> None:
        cluster_service.decide_cluster(
            session,
            principal=principal,
            cluster_id=cluster_id,
            decision=chosen,
            note=note.strip()[:2000] or None,
            now=viewer.now,
        )

    return _decided(viewer, session, cluster_id, decision, run, csrf=csrf, form_key=form_key)


@router.post("/clusters/{cluster_id}/members/{case_id}/{decision}")
def decide_member(
    cluster_id: int,
    case_id: int,
    decision: str,
    viewer: ViewerDep,
    session: SessionDep,
    csrf: Text = "",
    form_key: Text = "",
) -> Response:
    """Confirm or reject one proposed case of a cluster (a later case at the same place), as the
    API's member decision does; confirming one confirms the cluster."""

    def run(principal: Principal, chosen: cluster_service.Decision) -> None:
        cluster_service.decide_member(
            session,
            principal=principal,
            cluster_id=cluster_id,
            case_id=case_id,
            decision=chosen,
            now=viewer.now,
        )

    return _decided(viewer, session, cluster_id, decision, run, csrf=csrf, form_key=form_key)


def _decided(
    viewer: Viewer,
    session: Session,
    cluster_id: int,
    decision: str,
    run: Callable[[Principal, cluster_service.Decision], None],
    *,
    csrf: str,
    form_key: str,
) -> Response:
    """A decision from the cluster's page, then back to it (a second send of its form acts once)."""

    def checked(principal: Principal) -> None:
        if decision not in DECISIONS:
            raise DomainError(f"unknown decision {decision!r}", code="unknown_decision")
        run(principal, cast(cluster_service.Decision, decision))

    return act(
        viewer,
        session,
        csrf=csrf,
        action=checked,
        back_to=f"/clusters/{cluster_id}",
        form_key=form_key,
    )
