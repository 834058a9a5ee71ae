"""Linking cases in sets: the rules of `links.service.create_link` for a batch of links (a line
list's sources, a flow investigation's chains), read a statement per table and written in bulk.

A link never makes a case its own source, a case has at most one source, and no link closes a
cycle, counting the links of the batch before it; a link the caller may not make alone (one of
its cases is not the caller's to see) is proposed to the other case's district, as one made by
hand (one by one: the rare case). The batch is checked whole before anything is written: every
bad link named (`link N`, 1-based) with its field and reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.auth import service as auth_service
from xietong.cases import notices
from xietong.cases.links import chains, proposals, roots
from xietong.cases.models import Case, LinkProposal, TransmissionLink
from xietong.cases.schemas import LinkCreate
from xietong.cases.service import visible_cases
from xietong.core.errors import RowError, ValidationFailed
from xietong.core.principal import Permission, Principal
from xietong.storage.bulk_sql import chunks, dialect_of, insert_with_ids, member_of


def link_cases(
    session: Session,
    *,
    principal: Principal,
    links: Sequence[LinkCreate],
    now: datetime,
) -> list[TransmissionLink | LinkProposal]:
    """Link infectees to their sources, all or none; each link, or the proposal made instead
    when the caller may not see one of its cases, in the order of `links`."""
    principal.require(Permission.write_persons)
    if not links:
        return []
    dialect = dialect_of(session)
    ids = sorted({i for link in links for i in (link.source_case_id, link.target_case_id)})
    seen: set[int] = set()
    cases: dict[int, Case] = {}
    for part in chunks(ids):
        seen.update(
            session.scalars(
                visible_cases(principal)
                .with_only_columns(Case.id)
                .where(member_of(Case.id, part, dialect=dialect))
            )
        )
        cases.update(
            (c.id, c)
            for c in session.scalars(select(Case).where(member_of(Case.id, part, dialect=dialect)))
        )
    both_seen = [
        link for link in links if link.source_case_id in seen and link.target_case_id in seen
    ]
    roots.lock_chains(
        session,
        case_ids=[i for link in both_seen for i in (link.source_case_id, link.target_case_id)],
    )
    sources = _sources_above(session, [link.source_case_id for link in both_seen])
    has_source = _sources_of(session, [link.target_case_id for link in both_seen])
    errors: list[RowError] = []
    for n, link in enumerate(links, start=1):
        record = f"link {n}"
        source, target = link.source_case_id, link.target_case_id
        if source == target:
            errors.append(RowError(record, "target_case_id", "a case cannot infect itself"))
        elif source not in seen and target not in seen:
            errors.append(RowError(record, "target_case_id", f"no case {target}", str(target)))
        elif source not in seen or target not in seen:
            continue
        elif target in has_source:
            errors.append(
                RowError(
                    record,
                    "target_case_id",
                    f"case {target} already has a source; remove that link first",
                    str(target),
                )
            )
        elif chains.would_close_a_cycle(source, target, sources):
            errors.append(
                RowError(
                    record,
                    "source_case_id",
                    f"case {target} is an ancestor of case {source}: the link would close a cycle",
                    str(source),
                )
            )
        else:
            # The links before it count for the ones after it.
            has_source.add(target)
            sources[target] = source
    if errors:
        raise ValidationFailed(errors=errors, summary="links refused")
    made = _insert_links(
        session,
        principal=principal,
        links=[(cases[x.source_case_id], cases[x.target_case_id], x) for x in both_seen],
        now=now,
    )
    answers: list[TransmissionLink | LinkProposal] = []
    made_links = iter(made)
    for link in links:
        if link.source_case_id in seen and link.target_case_id in seen:
            answers.append(next(made_links))
        else:
            answers.append(
                proposals.propose_link(
                    session,
                    principal=principal,
                    link_in=link,
                    seen_case_id=(
                        link.source_case_id if link.source_case_id in seen else link.target_case_id
                    ),
                    now=now,
                )
            )
    return answers


def _insert_links(
    session: Session,
    *,
    principal: Principal,
    links: Sequence[tuple[Case, Case, LinkCreate]],
    now: datetime,
) -> list[TransmissionLink]:
    """Write checked links with their audit rows and notices; the links, in order."""
    if not links:
        return []
    ids = insert_with_ids(
        session,
        TransmissionLink,
        LINK_COLUMNS,
        [
            (
                source.id,
                target.id,
                link_in.evidence_kind,
                link_in.evidence,
                source.report_district_id,
                target.report_district_id,
                target.report_day,
                source.report_district_id != target.report_district_id,
                principal.username,
                now,
            )
            for source, target, link_in in links
        ],
    )
    roots.joined(session, [(source.id, target.id) for source, target, _ in links])
    loaded: dict[int, TransmissionLink] = {}
    dialect = dialect_of(session)
    for part in chunks(ids):
        loaded.update(
            (link.id, link)
            for link in session.scalars(
                select(TransmissionLink).where(
                    member_of(TransmissionLink.id, part, dialect=dialect)
                )
            )
        )
    made = [loaded[i] for i in ids]
    auth_service.record_audit_rows(
        session,
        principal=principal,
        action="link",
        entity="case",
        rows=[
            (case_id, {"link_id": link.id, "evidence_kind": link.evidence_kind})
            for link in made
            for case_id in (link.source_case_id, link.target_case_id)
        ],
    )
    notices.send_linked_many(session, made, now=now)
    return made


LINK_COLUMNS = (
    "source_case_id",
    "target_case_id",
    "evidence_kind",
    "evidence",
    "from_district_id",
    "to_district_id",
    "day",
    "spillover",
    "created_by",
    "created_at",
)


def _sources_of(session: Session, case_ids: Sequence[int]) -> set[int]:
    """The cases of `case_ids` that have a source already."""
    found: set[int] = set()
    dialect = dialect_of(session)
    for part in chunks(sorted(set(case_ids))):
        found.update(
            session.scalars(
                select(TransmissionLink.target_case_id).where(
                    member_of(TransmissionLink.target_case_id, part, dialect=dialect)
                )
            )
        )
    return found


def _sources_above(session: Session, case_ids: Sequence[int]) -> dict[int, int]:
    """Each ancestor of `case_ids` (and each of those cases) → its source, read in one walk up
    the links from all of them."""
    sources: dict[int, int] = {}
    dialect = dialect_of(session)
    link = TransmissionLink
    for part in chunks(sorted(set(case_ids))):
        up = (
            select(link.target_case_id, link.source_case_id)
            .where(member_of(link.target_case_id, part, dialect=dialect))
            .cte("sources_up", recursive=True)
        )
        up = up.union(
            select(link.target_case_id, link.source_case_id).join(
                up, link.target_case_id == up.c.source_case_id
            )
        )
        sources.update(
            (target, source)
            for target, source in session.execute(select(up.c.target_case_id, up.c.source_case_id))
        )
    return sources
