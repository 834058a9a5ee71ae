"""Clusters (點): proposing cases into clusters by shared place within the policy's window, the
decisions of a person (confirm, reject), and closing clusters that went quiet.

The window is the policy's `cluster.inactive_after_days`: a case at a place within that many days
of the place's last case belongs to the same cluster; after that many days without a new case the
cluster is closed. A district sees the clusters at its own buildings.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Literal, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xietong.areas import service as areas_service
from xietong.auth import service as auth_service
from xietong.cases.clusters.grouping import PlaceVisit, ProposedGroup, closes_on, group_by_place
from xietong.cases.models import CasePlace, Cluster, ClusterMember
from xietong.cases.schemas import ClusterFilter, ClusterMemberRead, ClusterRead
from xietong.core.clock import DEFAULT_TZ, local_day
from xietong.core.errors import Conflict, NotFound
from xietong.core.principal import Permission, Principal
from xietong.policy.service import policy_in_force

# Keeps IN lists well under SQLite's limit on bound parameters.
_CHUNK = 5_000

T = TypeVar("T")


def chunks(items: Sequence[T], size: int = _CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _window(session: Session, day: date) -> int:
    return policy_in_force(session, day=day).cluster.inactive_after_days


def propose_for_cases(
    session: Session, *, case_ids: Sequence[int], now: datetime, tz: str = DEFAULT_TZ
) -> list[Cluster]:
    """Propose `case_ids` into clusters with the other cases at their places; return the clusters
    that gained a member."""
    if not case_ids:
        return []
    window = _window(session, local_day(now, tz))
    own: list[tuple[int, date]] = []
    for part in chunks(list(case_ids)):
        own.extend(
            (row.building_id, row.day)
            for row in session.execute(
                select(CasePlace.building_id, CasePlace.day).where(CasePlace.case_id.in_(part))
            )
        )
    if not own:
        return []
    buildings = sorted({building for building, _ in own})
    first = min(day for _, day in own) - timedelta(days=window)
    last = max(day for _, day in own) + timedelta(days=window)
    visits: list[PlaceVisit] = []
    for part in chunks(buildings):
        visits.extend(
            PlaceVisit(row.case_id, row.building_id, row.day, row.role)
            for row in session.execute(
                select(CasePlace.case_id, CasePlace.building_id, CasePlace.day, CasePlace.role)
                .where(CasePlace.building_id.in_(part))
                .where(CasePlace.day >= first, CasePlace.day <= last)
            )
        )
    wanted = set(case_ids)
    groups = [
        g for g in group_by_place(visits, window_days=window) if wanted.intersection(g.case_ids)
    ]
    refs = areas_service.buildings_by_id(session, ids=[g.building_id for g in groups])
    touched = []
    for group in groups:
        cluster = _merge(session, group, refs[group.building_id], window=window, now=now)
        if cluster is not None:
            touched.append(cluster)
    session.flush()
    return touched


def _merge(
    session: Session,
    group: ProposedGroup,
    building: areas_service.BuildingPlace,
    *,
    window: int,
    now: datetime,
) -> Cluster | None:
    reach = timedelta(days=window)
    cluster = session.scalar(
        select(Cluster)
        .where(
            Cluster.building_id == group.building_id,
            # Date arithmetic stays in Python: SQLite stores dates as text.
            Cluster.first_case_day <= group.last_day + reach,
            Cluster.last_case_day >= group.first_day - reach,
        )
        .order_by(Cluster.id)
        .limit(1)
    )
    if cluster is None:
        cluster = Cluster(
            building_id=building.id,
            district_id=building.district_id,
            place_kind=building.kind,
            status="proposed",
            first_case_day=group.first_day,
            last_case_day=group.last_day,
            created_at=now,
            updated_at=now,
        )
        session.add(cluster)
        session.flush()
    members = {
        m.case_id
        for m in session.scalars(
            select(ClusterMember).where(ClusterMember.cluster_id == cluster.id)
        )
    }
    added = False
    for visit in group.visits:
        if visit.case_id in members:
            continue
        session.add(
            ClusterMember(
                cluster_id=cluster.id,
                case_id=visit.case_id,
                status="proposed",
                place_role=visit.role,
                day=visit.day,
                proposed_at=now,
            )
        )
        added = True
    if not added:
        return None
    session.flush()
    # New cases at a rejected or closed place are new evidence: the cluster is up for decision.
    if cluster.status == "rejected":
        cluster.status = "proposed"
    cluster.closed_on = None
    _refresh_days(session, cluster)
    cluster.updated_at = now
    return cluster


def _refresh_days(session: Session, cluster: Cluster) -> None:
    days = list(
        session.scalars(
            select(ClusterMember.day).where(
                ClusterMember.cluster_id == cluster.id, ClusterMember.status != "rejected"
            )
        )
    )
    if days:
        cluster.first_case_day, cluster.last_case_day = min(days), max(days)


# --- reading ---------------------------------------------------------------------------------


def get_cluster(session: Session, *, principal: Principal, cluster_id: int) -> Cluster:
    principal.require(Permission.read_persons)
    cluster = session.get(Cluster, cluster_id)
    if cluster is None or (
        principal.district_id is not None and cluster.district_id != principal.district_id
    ):
        raise NotFound(f"no cluster {cluster_id}", code="cluster_not_found")
    return cluster


def clusters_of_case(session: Session, *, principal: Principal, case_id: int) -> list[Cluster]:
    """The clusters a case belongs to (not rejected from) that the principal may see."""
    principal.require(Permission.read_persons)
    query = (
        select(Cluster)
        .join(ClusterMember, ClusterMember.cluster_id == Cluster.id)
        .where(ClusterMember.case_id == case_id, ClusterMember.status != "rejected")
    )
    if principal.district_id is not None:
        query = query.where(Cluster.district_id == principal.district_id)
    return list(session.scalars(query.order_by(Cluster.id)))


def list_clusters(
    session: Session,
    *,
    principal: Principal,
    status: ClusterFilter | None = None,
    district_code: str | None = None,
    today: date,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Cluster], int]:
    """Clusters in the principal's jurisdiction; `active` means confirmed and not yet quiet."""
    principal.require(Permission.read_persons)
    query = select(Cluster)
    if principal.district_id is not None:
        query = query.where(Cluster.district_id == principal.district_id)
    if district_code is not None:
        query = query.where(
            Cluster.district_id == areas_service.get_district(session, code=district_code).id
        )
    if status == "active":
        horizon = today - timedelta(days=_window(session, today))
        query = query.where(
            Cluster.status == "confirmed",
            Cluster.closed_on.is_(None),
            Cluster.last_case_day >= horizon,
        )
    elif status == "closed":
        query = query.where(Cluster.closed_on.is_not(None))
    elif status is not None:
        query = query.where(Cluster.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    clusters = list(
        session.scalars(
            query.order_by(Cluster.last_case_day.desc(), Cluster.id.desc())
            .limit(limit)
            .offset(offset)
        )
    )
    return clusters, total


def to_reads(session: Session, clusters: Sequence[Cluster], *, today: date) -> list[ClusterRead]:
    codes = areas_service.district_code_by_id(session)
    buildings = areas_service.buildings_by_id(session, ids=[c.building_id for c in clusters])
    window = _window(session, today)
    members: dict[int, list[ClusterMember]] = {c.id: [] for c in clusters}
    for part in chunks([c.id for c in clusters]):
        for member in session.scalars(
            select(ClusterMember)
            .where(ClusterMember.cluster_id.in_(part))
            .order_by(ClusterMember.day, ClusterMember.case_id)
        ):
            members[member.cluster_id].append(member)
    reads = []
    for cluster in clusters:
        last_quiet_day = closes_on(cluster.last_case_day, inactive_after_days=window)
        rows = members[cluster.id]
        reads.append(
            ClusterRead(
                id=cluster.id,
                building_code=buildings[cluster.building_id].code,
                district_code=codes[cluster.district_id],
                place_kind=cluster.place_kind,
                status=cluster.status,
                active=cluster.status == "confirmed"
                and cluster.closed_on is None
                and today <= last_quiet_day,
                first_case_day=cluster.first_case_day,
                last_case_day=cluster.last_case_day,
                closes_on=cluster.closed_on or last_quiet_day,
                closed_on=cluster.closed_on,
                cases=sum(1 for m in rows if m.status != "rejected"),
                members=[
                    ClusterMemberRead(
                        case_id=m.case_id, status=m.status, place_role=m.place_role, day=m.day
                    )
                    for m in rows
                ],
            )
        )
    return reads


# --- decisions -------------------------------------------------------------------------------

Decision = Literal["confirm", "reject"]


def decide_cluster(
    session: Session,
    *,
    principal: Principal,
    cluster_id: int,
    decision: Decision,
    note: str | None = None,
    now: datetime,
) -> Cluster:
    """Confirm a cluster with all its proposed members, or reject it with them."""
    principal.require(Permission.write_persons)
    cluster = get_cluster(session, principal=principal, cluster_id=cluster_id)
    member_status = "confirmed" if decision == "confirm" else "rejected"
    for member in session.scalars(
        select(ClusterMember).where(
            ClusterMember.cluster_id == cluster.id, ClusterMember.status == "proposed"
        )
    ):
        member.status = member_status
        member.decided_by = principal.username
        member.decided_at = now
    cluster.status = member_status
    cluster.decided_by = principal.username
    cluster.decided_at = now
    cluster.note = note if note is not None else cluster.note
    cluster.updated_at = now
    session.flush()
    _refresh_days(session, cluster)
    auth_service.record_audit(
        session, principal=principal, action=decision, entity="cluster", entity_ids=[cluster.id]
    )
    return cluster


def decide_member(
    session: Session,
    *,
    principal: Principal,
    cluster_id: int,
    case_id: int,
    decision: Decision,
    now: datetime,
) -> Cluster:
    """Confirm or reject one case's membership; confirming a member confirms the cluster."""
    principal.require(Permission.write_persons)
    cluster = get_cluster(session, principal=principal, cluster_id=cluster_id)
    member = session.get(ClusterMember, (cluster.id, case_id))
    if member is None:
        raise NotFound(f"case {case_id} is not in cluster {cluster_id}", code="member_not_found")
    if member.status != "proposed":
        raise Conflict(f"the membership is already {member.status}", code="member_decided")
    member.status = "confirmed" if decision == "confirm" else "rejected"
    member.decided_by = principal.username
    member.decided_at = now
    if decision == "confirm" and cluster.status != "confirmed":
        cluster.status = "confirmed"
        cluster.decided_by = principal.username
        cluster.decided_at = now
    cluster.updated_at = now
    session.flush()
    _refresh_days(session, cluster)
    auth_service.record_audit(
        session,
        principal=principal,
        action=f"{decision}_member",
        entity="cluster",
        entity_ids=[cluster.id],
        detail={"case_id": case_id},
    )
    return cluster


def add_case(
    session: Session,
    *,
    principal: Principal,
    cluster_id: int,
    case_id: int,
    day: date,
    now: datetime,
) -> Cluster:
    """Put a case into a cluster by a person's decision (tracing linked it, not a shared place):
    a confirmed member, place role `traced`; a rejected cluster is refused."""
    principal.require(Permission.write_persons)
    cluster = get_cluster(session, principal=principal, cluster_id=cluster_id)
    if cluster.status == "rejected":
        raise Conflict(f"cluster {cluster_id} was rejected", code="cluster_rejected")
    if session.get(ClusterMember, (cluster.id, case_id)) is not None:
        raise Conflict(f"case {case_id} is in cluster {cluster_id} already", code="member_exists")
    add_cases(session, principal=principal, members=[(cluster.id, case_id, day)], now=now)
    return cluster


def traced_problems(
    session: Session, *, principal: Principal, cluster_ids: Sequence[int]
) -> dict[int, tuple[str, str]]:
    """Why cases may not be put into each of `cluster_ids` by a person's decision: cluster id →
    (machine code, reason), for the clusters the principal does not see or that were rejected."""
    principal.require(Permission.write_persons)
    wanted = sorted(set(cluster_ids))
    found: dict[int, Cluster] = {}
    for part in chunks(wanted):
        found.update(
            (c.id, c) for c in session.scalars(select(Cluster).where(Cluster.id.in_(part)))
        )
    problems: dict[int, tuple[str, str]] = {}
    for cluster_id in wanted:
        cluster = found.get(cluster_id)
        if cluster is None or (
            principal.district_id is not None and cluster.district_id != principal.district_id
        ):
            problems[cluster_id] = ("cluster_not_found", f"no cluster {cluster_id}")
        elif cluster.status == "rejected":
            problems[cluster_id] = ("cluster_rejected", f"cluster {cluster_id} was rejected")
    return problems


def add_cases(
    session: Session,
    *,
    principal: Principal,
    members: Sequence[tuple[int, int, date]],
    now: datetime,
) -> None:
    """`add_case` for (cluster id, new case id, day) triples checked by `traced_problems`: each
    a confirmed member by tracing. A new case its places already proposed into the cluster is
    confirmed there, the person's decision standing for the place's proposal."""
    principal.require(Permission.write_persons)
    if not members:
        return
    cluster_ids = sorted({cluster_id for cluster_id, _, _ in members})
    clusters: dict[int, Cluster] = {}
    proposed: dict[tuple[int, int], ClusterMember] = {}
    for part in chunks(cluster_ids):
        clusters.update(
            (c.id, c) for c in session.scalars(select(Cluster).where(Cluster.id.in_(part)))
        )
        case_ids = sorted({case_id for _, case_id, _ in members})
        for cases_part in chunks(case_ids):
            proposed.update(
                ((m.cluster_id, m.case_id), m)
                for m in session.scalars(
                    select(ClusterMember).where(
                        ClusterMember.cluster_id.in_(part), ClusterMember.case_id.in_(cases_part)
                    )
                )
            )
    for cluster_id, case_id, day in members:
        member = proposed.get((cluster_id, case_id))
        if member is None:
            session.add(
                ClusterMember(
                    cluster_id=cluster_id,
                    case_id=case_id,
                    status="confirmed",
                    place_role="traced",
                    day=day,
                    proposed_at=now,
                    decided_by=principal.username,
                    decided_at=now,
                )
            )
        else:
            member.status, member.decided_by, member.decided_at = (
                "confirmed",
                principal.username,
                now,
            )
    session.flush()
    for cluster_id in cluster_ids:
        cluster = clusters[cluster_id]
        cluster.closed_on = None
        cluster.updated_at = now
        _refresh_days(session, cluster)
    auth_service.record_audit_rows(
        session,
        principal=principal,
        action="add_member",
        entity="cluster",
        rows=[(cluster_id, {"case_id": case_id}) for cluster_id, case_id, _ in members],
    )


def close_inactive_clusters(session: Session, *, today: date, now: datetime) -> list[int]:
    """Close every cluster whose quiet days all lie before `today`; return their ids."""
    window = _window(session, today)
    horizon = today - timedelta(days=window)
    closed = []
    for cluster in session.scalars(
        select(Cluster).where(
            Cluster.closed_on.is_(None),
            Cluster.status != "rejected",
            Cluster.last_case_day < horizon,
        )
    ):
        cluster.closed_on = closes_on(cluster.last_case_day, inactive_after_days=window)
        cluster.updated_at = now
        closed.append(cluster.id)
    session.flush()
    return closed
