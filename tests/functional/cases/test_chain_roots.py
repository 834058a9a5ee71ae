"""Each linked case's stored chain root is always the one a walk down the links from the chains'
first cases finds, whatever sequence of links is made (one at a time or in batches) and removed;
a case without links has none. The chain of a case is the cases of its root."""

from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from tests.factories.cases import at, link, make_case
from tests.savepoints import undone
from xietong.cases.links import service as link_service
from xietong.cases.links.batch import link_cases
from xietong.cases.models import Case, TransmissionLink
from xietong.cases.schemas import LinkCreate
from xietong.core.errors import Conflict, ValidationFailed
from xietong.core.principal import SYSTEM
from xietong.people.protection import PersonalDataProtector
from xietong.storage.migrate import alembic_config

CASES = 9


def walked_roots(session: Session) -> dict[int, int]:
    """Every linked case → its root, walked down the links from the first cases (the sources
    that are no one's target), as the chain list did before the roots were kept."""
    link_ = TransmissionLink
    firsts = (
        select(link_.source_case_id.label("case_id"))
        .except_(select(link_.target_case_id))
        .cte("firsts")
    )
    down = select(firsts.c.case_id.label("root"), firsts.c.case_id).cte("down", recursive=True)
    down = down.union_all(
        select(down.c.root, link_.target_case_id).join(down, link_.source_case_id == down.c.case_id)
    )
    return {case_id: root for root, case_id in session.execute(select(down.c.root, down.c.case_id))}


def assert_roots_true(session: Session, ids: list[int]) -> None:
    walked = walked_roots(session)
    stored = {
        c: r
        for c, r in session.execute(select(Case.id, Case.chain_root_id).where(Case.id.in_(ids)))
    }
    assert stored == {case_id: walked.get(case_id) for case_id in ids}
    # What is read through the ORM after the roots changed is the stored root too.
    assert {c.id: c.chain_root_id for c in session.scalars(select(Case))} == stored
    for case_id in ids:
        chain = link_service.chain_case_ids(session, case_id=case_id)
        assert chain == {c for c in ids if walked.get(c, c) == walked.get(case_id, case_id)}


@pytest.fixture
def cases(session: Session, protector: PersonalDataProtector) -> list[int]:
    return [make_case(session, protector).id for _ in range(CASES)]


pair = st.tuples(st.integers(0, CASES - 1), st.integers(0, CASES - 1))
step = st.one_of(
    st.tuples(st.just("link"), pair),
    st.tuples(st.just("batch"), st.lists(pair, min_size=1, max_size=5)),
    st.tuples(st.just("unlink"), st.integers(0, 100)),
)


def _apply(session: Session, ids: list[int], kind: str, what: object) -> None:
    if kind == "unlink":
        made = session.scalars(select(TransmissionLink.id).order_by(TransmissionLink.id)).all()
        if made:
            assert isinstance(what, int)
            link_service.delete_link(
                session, principal=SYSTEM, link_id=made[what % len(made)], now=at()
            )
        return
    pairs = [what] if kind == "link" else what
    assert isinstance(pairs, list)
    wanted = [
        LinkCreate(
            source_case_id=ids[s],
            target_case_id=ids[t],
            evidence_kind="household",
            evidence="同住 (lives with the source)",
        )
        for s, t in pairs
    ]
    attempt = session.begin_nested()
    try:
        if kind == "link":
            link_service.create_link(session, principal=SYSTEM, link_in=wanted[0], now=at())
        else:
            link_cases(session, principal=SYSTEM, links=wanted, now=at())
    except (Conflict, ValidationFailed):
        # Refused (a second source, a cycle, a case its own source), as the request would be.
        attempt.rollback()
    else:
        attempt.commit()


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, max_size=14))
def test_the_stored_roots_are_the_walked_ones_after_any_links_made_and_removed(
    session: Session, cases: list[int], steps: list[tuple[str, object]]
) -> None:
    with undone(session):
        for kind, what in steps:
            _apply(session, cases, kind, what)
            assert_roots_true(session, cases)


def test_a_new_link_to_the_first_case_of_a_chain_moves_that_whole_chain(
    session: Session, protector: PersonalDataProtector
) -> None:
    first, second, third, other = (make_case(session, protector) for _ in range(4))
    link(session, first, second)
    link(session, second, third)
    link(session, other, first)
    roots = {c: r for c, r in session.execute(select(Case.id, Case.chain_root_id))}
    assert {roots[c.id] for c in (first, second, third, other)} == {other.id}


def test_removing_a_link_splits_its_chain_and_a_case_left_alone_has_no_root(
    session: Session, protector: PersonalDataProtector
) -> None:
    first, second, third = (make_case(session, protector) for _ in range(3))
    link(session, first, second)
    link(session, second, third)
    (to_second,) = session.scalars(
        select(TransmissionLink.id).where(TransmissionLink.target_case_id == second.id)
    )
    link_service.delete_link(session, principal=SYSTEM, link_id=to_second, now=at())
    roots = {c: r for c, r in session.execute(select(Case.id, Case.chain_root_id))}
    assert (roots[first.id], roots[second.id], roots[third.id]) == (None, second.id, second.id)


def test_the_upgrade_finds_the_roots_of_the_links_recorded_before_it(
    session: Session, protector: PersonalDataProtector
) -> None:
    made = [make_case(session, protector) for _ in range(8)]
    for source, target in ((0, 1), (1, 2), (1, 3), (4, 5), (6, 4), (2, 7)):
        link(session, made[source], made[target])
    ids = [c.id for c in made]
    session.execute(update(Case).values(chain_root_id=None))
    backfill = ScriptDirectory.from_config(alembic_config()).get_revision("0320_cases_chain_root")
    assert backfill is not None
    session.execute(text(backfill.module._BACKFILL))
    session.expire_all()
    assert_roots_true(session, ids)
