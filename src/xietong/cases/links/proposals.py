"""Links to a case the caller may not see become proposals: the other case's district confirms
(the link is made, and the chain is shown to both) or rejects. The proposer gets the same answer
whether the other case is of another district, does not exist, or already has a source: what
it would learn about that case is decided by the district that owns it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xietong.areas import service as areas_service
from xietong.auth import service as auth_service
from xietong.cases.models import Case, LinkProposal, TransmissionLink
from xietong.cases.schemas import LinkCreate, LinkProposalRead
from xietong.cases.service import visible_cases
from xietong.core.errors import Conflict, NotFound
from xietong.core.principal import Permission, Principal

PROPOSED, CONFIRMED, REJECTED = "proposed", "confirmed", "rejected"


def propose_link(
    session: Session,
    *,
    principal: Principal,
    link_in: LinkCreate,
    seen_case_id: int,
    now: datetime,
) -> LinkProposal:
    """Record a link between the caller's case `seen_case_id` and a case it may not see."""
    other_id = (
        link_in.target_case_id if seen_case_id == link_in.source_case_id else link_in.source_case_id
    )
    seen = session.get_one(Case, seen_case_id)
    other = session.get(Case, other_id)
    proposal = LinkProposal(
        source_case_id=link_in.source_case_id,
        target_case_id=link_in.target_case_id,
        evidence_kind=link_in.evidence_kind,
        evidence=link_in.evidence,
        from_district_id=seen.report_district_id,
        to_district_id=other.report_district_id if other is not None else None,
        status=PROPOSED,
        proposed_by=principal.username,
        created_at=now,
    )
    session.add(proposal)
    session.flush()
    auth_service.record_audit(
        session,
        principal=principal,
        action="propose_link",
        entity="case",
        entity_ids=[seen_case_id],
        detail={"proposal_id": proposal.id},
    )
    return proposal


def list_proposals(
    session: Session,
    *,
    principal: Principal,
    incoming: bool = True,
    status: str | None = PROPOSED,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[LinkProposal], int]:
    """Proposals to the caller's district to decide (incoming), or those it made."""
    query = select(LinkProposal)
    if incoming:
        query = query.where(LinkProposal.to_district_id.is_not(None))
        if principal.district_id is not None:
            query = query.where(LinkProposal.to_district_id == principal.district_id)
    elif principal.district_id is not None:
        query = query.where(LinkProposal.from_district_id == principal.district_id)
    if status is not None:
        query = query.where(LinkProposal.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(LinkProposal.id.desc()).limit(limit).offset(offset))
    return list(rows), total


def _decidable(session: Session, principal: Principal, proposal_id: int) -> LinkProposal:
    principal.require(Permission.write_persons)
    proposal = session.get(LinkProposal, proposal_id)
    if (
        proposal is None
        or proposal.to_district_id is None
        or (principal.district_id is not None and principal.district_id != proposal.to_district_id)
    ):
        raise NotFound(f"no link proposal {proposal_id}", code="proposal_not_found")
    if proposal.status != PROPOSED:
        raise Conflict(f"the proposal is already {proposal.status}", code="proposal_decided")
    return proposal


def confirm(
    session: Session, *, principal: Principal, proposal_id: int, now: datetime
) -> TransmissionLink:
    """The other district confirms: the link is made (with the usual checks) and recorded."""
    from xietong.cases.links.service import make_link

    proposal = _decidable(session, principal, proposal_id)
    source = session.get(Case, proposal.source_case_id)
    target = session.get(Case, proposal.target_case_id)
    if source is None or target is None:
        raise NotFound("a case of the proposal no longer exists", code="case_not_found")
    link = make_link(
        session,
        principal=principal,
        source=source,
        target=target,
        evidence_kind=proposal.evidence_kind,
        evidence=proposal.evidence,
        now=now,
    )
    proposal.status, proposal.decided_by, proposal.decided_at = (
        CONFIRMED,
        principal.username,
        now,
    )
    proposal.link_id = link.id
    session.flush()
    return link


def reject(session: Session, *, principal: Principal, proposal_id: int, now: datetime) -> None:
    """The other district rejects the proposed link."""
    proposal = _decidable(session, principal, proposal_id)
    proposal.status, proposal.decided_by, proposal.decided_at = REJECTED, principal.username, now
    session.flush()


def proposal_reads(
    session: Session, proposals: list[LinkProposal], *, principal: Principal
) -> list[LinkProposalRead]:
    """Proposals as their reader may see them: the deciding district sees both districts; the
    proposer sees its own case's district only, and the decision."""
    codes = areas_service.district_code_by_id(session)
    reads = []
    for p in proposals:
        decides = p.to_district_id is not None and (
            principal.district_id is None or principal.district_id == p.to_district_id
        )
        reads.append(
            LinkProposalRead(
                id=p.id,
                source_case_id=p.source_case_id,
                target_case_id=p.target_case_id,
                evidence_kind=p.evidence_kind,
                evidence=p.evidence,
                from_district_code=codes.get(p.from_district_id) if p.from_district_id else None,
                to_district_code=(
                    codes.get(p.to_district_id) if decides and p.to_district_id else None
                ),
                status=p.status,
                proposed_by=p.proposed_by,
                created_at=p.created_at,
                decided_at=p.decided_at,
                link_id=p.link_id,
            )
        )
    return reads


def sees_case(session: Session, principal: Principal, case_id: int) -> bool:
    return (
        session.scalar(
            visible_cases(principal).with_only_columns(Case.id).where(Case.id == case_id)
        )
        is not None
    )
