"""Transmission links and chains (線): linking an infectee to its source with the evidence,
following a chain across districts, exporting it for the dashboard, and counting spillovers (外溢)
per pair of districts per day.

A case has at most one source and a link never makes a case its own ancestor, so every chain is a
tree. A district may link its case to a case of another district (the point of a line is that it
crosses boundaries); a chain is shown to a district that has at least one of its cases, and its
nodes carry no personal data.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from xietong.areas import service as areas_service
from xietong.auth import service as auth_service
from xietong.cases import notices
from xietong.cases.clusters.service import chunks
from xietong.cases.links import chains, proposals
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
    session.delete(link)
    session.flush()


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
    """Every case connected to `case_id` by links, whichever their direction."""
    seen = {case_id}
    frontier = [case_id]
    while frontier:
        found: set[int] = set()
        for part in chunks(frontier):
            for source, target in session.execute(
                select(TransmissionLink.source_case_id, TransmissionLink.target_case_id).where(
                    or_(
                        TransmissionLink.source_case_id.in_(part),
                        TransmissionLink.target_case_id.in_(part),
                    )
                )
            ):
                found.update((source, target))
        frontier = sorted(found - seen)
        seen.update(frontier)
    return seen


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
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[ChainSummary], int]:
    """Chains with at least `min_cases` cases that touch the principal's jurisdiction, largest
    first; with `crossing_districts`, only those spanning more than one district."""
    principal.require(Permission.read_persons)
    rows = session.execute(
        select(
            TransmissionLink.source_case_id,
            TransmissionLink.target_case_id,
            TransmissionLink.spillover,
        )
    ).all()
    pairs = [(source, target) for source, target, _ in rows]
    ids = sorted({case for pair in pairs for case in pair})
    chain_of = chains.chain_of_every_case(ids, pairs)
    info: dict[int, tuple[int, int, date]] = {}
    for part in chunks(ids):
        for row in session.execute(
            select(
                Case.id, Case.report_district_id, Case.residence_district_id, Case.report_day
            ).where(Case.id.in_(part))
        ):
            info[row.id] = (row.report_district_id, row.residence_district_id, row.report_day)
    members: dict[int, list[int]] = defaultdict(list)
    for case_id, chain_id in chain_of.items():
        members[chain_id].append(case_id)
    spill_pairs: dict[int, int] = defaultdict(int)
    for source, _, spillover in rows:
        if spillover:
            spill_pairs[chain_of[source]] += 1
    codes = areas_service.district_code_by_id(session)
    summaries = []
    for chain_id, case_ids in members.items():
        reported = {info[c][0] for c in case_ids}
        if len(case_ids) < min_cases or (crossing_districts and len(reported) < 2):
            continue
        if principal.district_id is not None and not any(
            principal.district_id in info[c][:2] for c in case_ids
        ):
            continue
        days = [info[c][2] for c in case_ids]
        summaries.append(
            ChainSummary(
                chain_id=chain_id,
                cases=len(case_ids),
                districts=sorted(codes[d] for d in reported),
                spillover_links=spill_pairs[chain_id],
                first_report_day=min(days),
                last_report_day=max(days),
            )
        )
    summaries.sort(key=lambda s: (-s.cases, s.chain_id))
    return summaries[offset : offset + limit], len(summaries)


def spillovers(
    session: Session,
    *,
    principal: Principal,
    first_day: date,
    last_day: date,
) -> list[SpilloverRead]:
    """Spillover links per day and pair of districts (a district sees the pairs it is part of)."""
    principal.require(Permission.read_persons)
    query = (
        select(
            TransmissionLink.day,
            TransmissionLink.from_district_id,
            TransmissionLink.to_district_id,
            func.count(TransmissionLink.id),
        )
        .where(
            TransmissionLink.spillover.is_(True),
            TransmissionLink.day >= first_day,
            TransmissionLink.day <= last_day,
        )
        .group_by(
            TransmissionLink.day, TransmissionLink.from_district_id, TransmissionLink.to_district_id
        )
    )
    if principal.district_id is not None:
        query = query.where(
            or_(
                TransmissionLink.from_district_id == principal.district_id,
                TransmissionLink.to_district_id == principal.district_id,
            )
        )
    codes = areas_service.district_code_by_id(session)
    rows = sorted(
        (day, codes[a], codes[b], int(count)) for day, a, b, count in session.execute(query)
    )
    return [
        SpilloverRead(day=day, from_district_code=a, to_district_code=b, links=count)
        for day, a, b, count in rows
    ]
