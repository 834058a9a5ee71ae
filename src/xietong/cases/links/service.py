"""Transmission links and chains (線): linking an infectee to its source with the evidence,
following a chain across districts, exporting it for the dashboard, and counting spillovers (外溢)
per pair of districts per day.

A case has at most one source and a link never makes a case its own ancestor, so every chain is a
tree. A district may link its case to a case of another district (the point of a line is that it
crosses boundaries); a chain is shown to a district that has at least one of its cases, and its
nodes carry no personal data.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Select,
    case,
    distinct,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased

from xietong.areas import service as areas_service
from xietong.auth import service as auth_service
from xietong.cases import notices
from xietong.cases.clusters.service import chunks
from xietong.cases.links import chains, proposals, roots
from xietong.cases.models import Case, LinkProposal, TransmissionLink
from xietong.cases.schemas import (
    ChainEdgeRead,
    ChainNodeRead,
    ChainRead,
    ChainSummary,
    LinkCreate,
    LinkRead,
    SpilloverRead,
)
from xietong.cases.service import case_exists, get_case, visible_cases
from xietong.core.errors import Conflict, NotFound, RowError, ValidationFailed
from xietong.core.principal import Permission, Principal


def create_link(
    session: Session,
    *,
    principal: Principal,
    link_in: LinkCreate,
    now: datetime,
) -> TransmissionLink | LinkProposal:
    """Link an infectee to its source; a link across districts is a spillover. When the caller
    may not see one of the two cases, the link is proposed to that case's district instead."""
    principal.require(Permission.write_persons)
    if link_in.source_case_id == link_in.target_case_id:
        raise ValidationFailed(
            errors=[RowError("link", "target_case_id", "a case cannot infect itself")]
        )
    seen = set(
        session.scalars(
            visible_cases(principal)
            .with_only_columns(Case.id)
            .where(Case.id.in_((link_in.source_case_id, link_in.target_case_id)))
        )
    )
    if not seen:
        raise NotFound(f"no case {link_in.target_case_id}", code="case_not_found")
    if len(seen) == 1:
        return proposals.propose_link(
            session, principal=principal, link_in=link_in, seen_case_id=seen.pop(), now=now
        )
    return make_link(
        session,
        principal=principal,
        source=case_exists(session, case_id=link_in.source_case_id),
        target=case_exists(session, case_id=link_in.target_case_id),
        evidence_kind=link_in.evidence_kind,
        evidence=link_in.evidence,
        now=now,
    )


def make_link(
    session: Session,
    *,
    principal: Principal,
    source: Case,
    target: Case,
    evidence_kind: str,
    evidence: str,
    now: datetime,
) -> TransmissionLink:
    """Record the link between two cases the deciding principal may link (checked by callers)."""
    roots.lock_chains(session, case_ids=(source.id, target.id))
    existing = session.scalar(
        select(TransmissionLink.id).where(TransmissionLink.target_case_id == target.id)
    )
    if existing is not None:
        raise Conflict(
            f"case {target.id} already has a source; remove that link first",
            code="link_exists",
            details={"link_id": existing},
        )
    if chains.would_close_a_cycle(source.id, target.id, _ancestry(session, source.id)):
        raise Conflict(
            f"case {target.id} is an ancestor of case {source.id}: the link would close a cycle",
            code="link_cycle",
        )
    link = TransmissionLink(
        source_case_id=source.id,
        target_case_id=target.id,
        evidence_kind=evidence_kind,
        evidence=evidence,
        from_district_id=source.report_district_id,
        to_district_id=target.report_district_id,
        day=target.report_day,
        spillover=source.report_district_id != target.report_district_id,
        created_by=principal.username,
        created_at=now,
    )
    session.add(link)
    session.flush()
    roots.joined(session, [(source.id, target.id)])
    auth_service.record_audit(
        session,
        principal=principal,
        action="link",
        entity="case",
        entity_ids=[source.id, target.id],
        detail={"link_id": link.id, "evidence_kind": link.evidence_kind},
    )
    notices.send_linked(session, link, now=now)
    return link


def _ancestry(session: Session, case_id: int) -> dict[int, int]:
    """Each ancestor of `case_id` → its source, walking up the (short) line of sources."""
    sources: dict[int, int] = {}
    current = case_id
    while current not in sources:
        parent = session.scalar(
            select(TransmissionLink.source_case_id).where(
                TransmissionLink.target_case_id == current
            )
        )
        if parent is None:
            break
        sources[current] = parent
        current = parent
    return sources


def delete_link(session: Session, *, principal: Principal, link_id: int, now: datetime) -> None:
    """Remove a link found to be wrong (audited; both districts are told)."""
    principal.require(Permission.write_persons)
    link = session.get(TransmissionLink, link_id)
    if link is None or not _sees_any(
        session, principal, [link.source_case_id, link.target_case_id]
    ):
        raise NotFound(f"no link {link_id}", code="link_not_found")
    auth_service.record_audit(
        session,
        principal=principal,
        action="unlink",
        entity="case",
        entity_ids=[link.source_case_id, link.target_case_id],
        detail={"link_id": link.id},
    )
    notices.send_unlinked(session, link, actor=principal.username, now=now)
    source_case_id, target_case_id = link.source_case_id, link.target_case_id
    roots.lock_chains(session, case_ids=(source_case_id, target_case_id))
    session.delete(link)
    session.flush()
    roots.split(session, source_case_id=source_case_id, target_case_id=target_case_id)


def _sees_any(session: Session, principal: Principal, case_ids: Sequence[int]) -> bool:
    return (
        session.scalar(
            visible_cases(principal).with_only_columns(Case.id).where(Case.id.in_(case_ids))
        )
        is not None
    )


def link_reads(session: Session, links: Sequence[TransmissionLink]) -> list[LinkRead]:
    codes = areas_service.district_code_by_id(session)
    return [
        LinkRead(
            id=link.id,
            source_case_id=link.source_case_id,
            target_case_id=link.target_case_id,
            evidence_kind=link.evidence_kind,
            evidence=link.evidence,
            from_district_code=codes[link.from_district_id],
            to_district_code=codes[link.to_district_id],
            day=link.day,
            spillover=link.spillover,
            created_by=link.created_by,
            created_at=link.created_at,
        )
        for link in links
    ]


def links_of_case(
    session: Session, *, principal: Principal, case_id: int
) -> list[TransmissionLink]:
    case = get_case(session, principal=principal, case_id=case_id, audit=False)
    return list(
        session.scalars(
            select(TransmissionLink)
            .where(
                or_(
                    TransmissionLink.source_case_id == case.id,
                    TransmissionLink.target_case_id == case.id,
                )
            )
            .order_by(TransmissionLink.id)
        )
    )


# --- chains ----------------------------------------------------------------------------------


def chain_case_ids(session: Session, *, case_id: int) -> set[int]:
    """Every case connected to `case_id` by links, whichever their direction: the cases of its
    chain root (`links.roots`), or the case alone."""
    root = session.scalar(select(Case.chain_root_id).where(Case.id == case_id))
    if root is None:
        return {case_id}
    return set(session.scalars(select(Case.id).where(Case.chain_root_id == root)))


def export_chain(session: Session, *, principal: Principal, case_id: int) -> ChainRead:
    """The chain of a case as nodes and edges with its counts (for the dashboard)."""
    get_case(session, principal=principal, case_id=case_id, reason="chain")
    ids = sorted(chain_case_ids(session, case_id=case_id))
    cases: list[Case] = []
    links: list[TransmissionLink] = []
    for part in chunks(ids):
        cases.extend(session.scalars(select(Case).where(Case.id.in_(part))))
        links.extend(
            session.scalars(
                select(TransmissionLink).where(TransmissionLink.target_case_id.in_(part))
            )
        )
    cases.sort(key=lambda c: c.id)
    links.sort(key=lambda link: link.id)
    codes = areas_service.district_code_by_id(session)
    nodes = [
        chains.ChainNode(
            c.id, c.report_district_id, c.classification, c.report_day, c.found_under_control
        )
        for c in cases
    ]
    edges = [
        chains.ChainEdge(
            link.source_case_id,
            link.target_case_id,
            link.from_district_id,
            link.to_district_id,
            link.day,
            link.evidence_kind,
        )
        for link in links
    ]
    generation = chains.generations(nodes, edges)
    spills = chains.spillover_counts(edges)
    auth_service.record_audit(
        session, principal=principal, action="read_chain", entity="case", entity_ids=ids
    )
    return ChainRead(
        chain_id=ids[0],
        cases=len(nodes),
        districts=sorted({codes[n.district_id] for n in nodes}),
        spillover_links=sum(spills.values()),
        first_report_day=min(n.report_day for n in nodes),
        last_report_day=max(n.report_day for n in nodes),
        confirmed=sum(1 for n in nodes if n.classification == "confirmed"),
        asymptomatic=sum(1 for n in nodes if n.classification == "asymptomatic"),
        found_on_surface=sum(1 for n in nodes if not n.found_under_control),
        generations=max(generation.values()),
        spillovers=[
            SpilloverRead(
                day=day, from_district_code=codes[a], to_district_code=codes[b], links=count
            )
            for (day, a, b), count in sorted(spills.items())
        ],
        nodes=[
            ChainNodeRead(
                case_id=n.case_id,
                district_code=codes[n.district_id],
                classification=n.classification,
                report_day=n.report_day,
                found_under_control=n.found_under_control,
                generation=generation[n.case_id],
            )
            for n in nodes
        ],
        edges=[
            ChainEdgeRead(
                source=e.source_case_id,
                target=e.target_case_id,
                from_district_code=codes[e.from_district_id],
                to_district_code=codes[e.to_district_id],
                day=e.day,
                evidence_kind=e.evidence_kind,
                spillover=e.spillover,
            )
            for e in edges
        ],
    )


def list_chains(
    session: Session,
    *,
    principal: Principal,
    min_cases: int = 2,
    crossing_districts: bool = False,
    active_since: date | None = None,
    started_by: date | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[ChainSummary], int]:
    """Chains with at least `min_cases` cases that touch the principal's jurisdiction, largest
    first; with `crossing_districts`, only those spanning more than one district; with
    `active_since`, only those with a case reported on or after that day, and with `started_by`,
    only those whose first case was reported by that day (the overview's open chains).

    Counted in the database in one GROUP BY over each linked case's chain root (kept by
    `links.roots`); with `active_since`, only the chains of the recent linked cases are read. The
    districts are listed for the page's chains only.
    """
    principal.require(Permission.read_persons)
    # Each member with what the chains' filters and order need of its case.
    linked = select(
        Case.chain_root_id.label("root"),
        Case.id.label("case_id"),
        Case.report_district_id.label("district_id"),
        Case.residence_district_id.label("residence_id"),
        Case.report_day.label("report_day"),
    ).where(Case.chain_root_id.is_not(None))
    if active_since is not None:
        # The chains of the recent linked cases (through the index on the day of report).
        recent = aliased(Case)
        linked = linked.where(
            Case.chain_root_id.in_(
                select(recent.chain_root_id).where(
                    recent.report_day >= active_since, recent.chain_root_id.is_not(None)
                )
            )
        )
    members = linked.subquery("chain_cases")
    chain_id = func.min(members.c.case_id)
    cases = func.count()
    chains_query = (
        select(
            members.c.root,
            chain_id.label("chain_id"),
            cases.label("cases"),
            func.min(members.c.report_day).label("first_day"),
            func.max(members.c.report_day).label("last_day"),
        )
        .group_by(members.c.root)
        .having(cases >= min_cases)
    )
    here = principal.district_id
    if here is not None:
        # A chain touches a district that reported or houses one of its cases.
        chains_query = chains_query.having(
            func.max(
                case(
                    (or_(members.c.district_id == here, members.c.residence_id == here), 1),
                    else_=0,
                )
            )
            == 1
        )
    if crossing_districts:
        chains_query = chains_query.having(func.count(distinct(members.c.district_id)) >= 2)
    if active_since is not None:
        chains_query = chains_query.having(func.max(members.c.report_day) >= active_since)
    if started_by is not None:
        chains_query = chains_query.having(func.min(members.c.report_day) <= started_by)
    page = (
        chains_query.add_columns(func.count().over().label("total"))
        .order_by(cases.desc(), chain_id)
        .limit(limit)
        .offset(offset)
        .cte("chain_page")
    )
    # One row per chain of the page and district of report of its cases, with the spillover
    # links into those cases: read through the index on the root for the page's chains only.
    link = TransmissionLink
    query = (
        select(
            *page.c,
            Case.report_district_id.label("district_id"),
            func.sum(case((link.spillover, 1), else_=0)).label("spillovers"),
        )
        .join(Case, Case.chain_root_id == page.c.root)
        .outerjoin(link, link.target_case_id == Case.id)
        .group_by(*page.c, Case.report_district_id)
        .order_by(page.c.cases.desc(), page.c.chain_id)
    )
    rows = list(session.execute(query).all())
    if rows:
        total = int(rows[0].total)
    else:
        # Past the last page: the count alone.
        total = int(session.scalar(select(func.count()).select_from(chains_query.subquery())) or 0)
    codes = areas_service.district_code_by_id(session)
    districts: dict[int, list[str]] = {}
    spills: Counter[int] = Counter()
    for row in rows:
        districts.setdefault(row.chain_id, []).append(codes[row.district_id])
        spills[row.chain_id] += int(row.spillovers)
    shown = {row.chain_id: row for row in rows}
    return [
        ChainSummary(
            chain_id=row.chain_id,
            cases=int(row.cases),
            districts=sorted(districts[row.chain_id]),
            spillover_links=spills[row.chain_id],
            first_report_day=row.first_day,
            last_report_day=row.last_day,
        )
        for row in shown.values()
    ], total


def _spillover_links(principal: Principal, first_day: date, last_day: date) -> Select[Any]:
    """The spillover links of the days that `principal` may see (those of the pairs its district
    is part of), columns to be added."""
    principal.require(Permission.read_persons)
    link = TransmissionLink
    query = select().where(link.spillover.is_(True), link.day >= first_day, link.day <= last_day)
    if principal.district_id is not None:
        query = query.where(
            or_(
                link.from_district_id == principal.district_id,
                link.to_district_id == principal.district_id,
            )
        )
    return query


def spillover_pairs(
    session: Session,
    *,
    principal: Principal,
    first_day: date,
    last_day: date,
) -> list[tuple[str, str, int]]:
    """Spillover links per pair of districts (from, to) over the days, most first (then by the
    first day each pair spilled over, and the codes); a district sees the pairs it is part of.
    Summed in the database: the overview's week has tens of thousands of links at city scale."""
    link = TransmissionLink
    query = _spillover_links(principal, first_day, last_day).add_columns(
        link.from_district_id, link.to_district_id, func.count(), func.min(link.day)
    )
    query = query.group_by(link.from_district_id, link.to_district_id)
    codes = areas_service.district_code_by_id(session)
    rows = sorted(
        (-int(count), first, codes[a], codes[b]) for a, b, count, first in session.execute(query)
    )
    return [(a, b, -negative) for negative, _, a, b in rows]


def spillovers(
    session: Session,
    *,
    principal: Principal,
    first_day: date,
    last_day: date,
) -> list[SpilloverRead]:
    """Spillover links per day and pair of districts (a district sees the pairs it is part of)."""
    link = TransmissionLink
    query = _spillover_links(principal, first_day, last_day).add_columns(
        link.day, link.from_district_id, link.to_district_id, func.count(link.id)
    )
    query = query.group_by(link.day, link.from_district_id, link.to_district_id)
    codes = areas_service.district_code_by_id(session)
    rows = sorted(
        (day, codes[a], codes[b], int(count)) for day, a, b, count in session.execute(query)
    )
    return [
        SpilloverRead(day=day, from_district_code=a, to_district_code=b, links=count)
        for day, a, b, count in rows
    ]
