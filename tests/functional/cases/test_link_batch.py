"""Transmission links made as one batch follow the rules of one made by hand: no case its own
source, one source per case, no cycle (counting the batch's own links), a proposal when the
caller may not see one of the cases; a bad link refuses the whole batch, named; the links,
audit rows and notices are those of links made one at a time, for the same statements whatever
the batch's size."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from tests.factories.auth import district_user
from tests.factories.cases import at, link, make_case
from tests.savepoints import undone
from xietong.auth.models import AuditEntry
from xietong.cases.links import service as link_service
from xietong.cases.links.batch import link_cases
from xietong.cases.models import Case, LinkProposal, TransmissionLink
from xietong.cases.schemas import LinkCreate
from xietong.core.errors import ValidationFailed
from xietong.core.principal import SYSTEM
from xietong.outbox.models import OutboxMessage
from xietong.people.protection import PersonalDataProtector

HOME, OTHER = "500106", "500107"


def _link(source: int, target: int, evidence: str = "同住") -> LinkCreate:
    return LinkCreate(
        source_case_id=source, target_case_id=target, evidence_kind="household", evidence=evidence
    )


def test_a_bad_link_refuses_the_batch_naming_each(
    session: Session, protector: PersonalDataProtector
) -> None:
    a, b, c, d, e = (make_case(session, protector, district_code=HOME) for _ in range(5))
    link(session, a, b)
    before = session.scalars(select(TransmissionLink.id)).all()
    with pytest.raises(ValidationFailed) as refused:
        link_cases(
            session,
            principal=SYSTEM,
            links=[
                _link(c.id, c.id),  # its own source
                _link(c.id, b.id),  # b has a source already
                _link(b.id, a.id),  # a is b's source: a cycle
                _link(a.id, 10**9),  # no such case, either side unseen... one seen: proposal
                _link(10**9, 10**9 + 1),  # neither case exists
                _link(d.id, e.id),
                _link(e.id, d.id),  # a cycle with the link above it
                _link(a.id, e.id),  # e got its source two lines above
            ],
            now=at(),
        )
    assert [(x.record, x.field) for x in refused.value.errors] == [
        ("link 1", "target_case_id"),
        ("link 2", "target_case_id"),
        ("link 3", "source_case_id"),
        ("link 5", "target_case_id"),
        ("link 7", "source_case_id"),
        ("link 8", "target_case_id"),
    ]
    assert session.scalars(select(TransmissionLink.id)).all() == before
    assert session.scalar(select(LinkProposal.id).limit(1)) is None


def _written(session: Session, case_ids: list[int]) -> tuple[object, ...]:
    person_of = dict(session.execute(select(Case.id, Case.person_id)).all())
    links = sorted(
        (
            person_of[x.source_case_id],
            person_of[x.target_case_id],
            x.evidence,
            x.from_district_id,
            x.to_district_id,
            x.day,
            x.spillover,
        )
        for x in session.scalars(select(TransmissionLink))
    )
    audit = sorted(
        (a.action, person_of[int(a.entity_id)], (a.detail or {}).get("evidence_kind"))
        for a in session.scalars(select(AuditEntry).where(AuditEntry.action == "link"))
    )
    notices = sorted(
        (
            m.topic,
            tuple(m.audience),
            person_of[m.payload["source_case_id"]],
            person_of[m.payload["target_case_id"]],
            m.payload["spillover"],
        )
        for m in session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "cases.linked"))
    )
    proposals = sorted(
        (person_of.get(p.source_case_id), person_of.get(p.target_case_id), p.to_district_id)
        for p in session.scalars(select(LinkProposal))
    )
    return links, audit, notices, proposals


def test_a_batch_links_what_links_one_at_a_time_would(
    session: Session, protector: PersonalDataProtector
) -> None:
    principal, _ = district_user(session, HOME)
    home = [make_case(session, protector, district_code=HOME) for _ in range(4)]
    other = make_case(session, protector, district_code=OTHER)
    batch = [
        _link(home[0].id, home[1].id),
        _link(home[1].id, home[2].id, "同事"),
        # The district does not see the other district's case: proposed to that district.
        _link(other.id, home[3].id),
    ]
    ids = [c.id for c in [*home, other]]
    with undone(session):
        for link_in in batch:
            link_service.create_link(session, principal=principal, link_in=link_in, now=at())
        alone = _written(session, ids)
    with undone(session):
        made = link_cases(session, principal=principal, links=batch, now=at())
        together = _written(session, ids)
    assert [type(x) for x in made] == [TransmissionLink, TransmissionLink, LinkProposal]
    assert together == alone
    assert len(alone[0]) == 2 and len(alone[1]) == 4 and len(alone[2]) == 2


def _statements(session: Session, protector: PersonalDataProtector, size: int) -> int:
    counted = 0

    def count(*_: object) -> None:
        nonlocal counted
        counted += 1

    with undone(session):
        # Chains of three: each batch link hangs a new case under one with a source already.
        roots = [make_case(session, protector, district_code=HOME) for _ in range(size)]
        middles = [make_case(session, protector, district_code=OTHER) for _ in range(size)]
        leaves = [make_case(session, protector, district_code=HOME) for _ in range(size)]
        for root, middle in zip(roots, middles, strict=True):
            link(session, root, middle)
        engine = session.get_bind()
        event.listen(engine, "before_cursor_execute", count)
        try:
            made = link_cases(
                session,
                principal=SYSTEM,
                links=[_link(m.id, x.id) for m, x in zip(middles, leaves, strict=True)],
                now=at(),
            )
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert len(made) == size
    return counted


def test_a_batch_of_links_costs_the_same_statements_whatever_its_size(
    session: Session, protector: PersonalDataProtector
) -> None:
    assert _statements(session, protector, 30) == _statements(session, protector, 3)
