"""Each linked case's chain root (`Case.chain_root_id`): the first case of its chain, the one case
of it without a source. Kept here, in the caller's transaction, whenever links are made
(`joined`) or removed (`split`), so that chains are counted by their root instead of walked.

A chain is a tree, so a new link's target was the root of its own chain (or of no chain): joining
re-points that chain to the root of the source's, whatever their sizes, and the stored root stays
the one a walk down from the first cases finds. A case without links has none. Writers of links
take `lock_chains` first, so that writes into the same chains follow one another.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Table, exists, or_, select, update
from sqlalchemy.orm import Session

from xietong.cases.models import Case, TransmissionLink
from xietong.storage.bulk_sql import chunks, dialect_of, int_pairs, member_of, table_of


def _cases() -> Table:
    return table_of(Case)


def stored_roots(session: Session, case_ids: Iterable[int]) -> dict[int, int | None]:
    """Each case's root as stored (None: the case has no links)."""
    cases = _cases()
    dialect = dialect_of(session)
    found: dict[int, int | None] = {}
    for part in chunks(sorted(set(case_ids))):
        found.update(
            (case_id, root)
            for case_id, root in session.execute(
                select(cases.c.id, cases.c.chain_root_id).where(
                    member_of(cases.c.id, part, dialect=dialect)
                )
            )
        )
    return found


def lock_chains(session: Session, *, case_ids: Iterable[int]) -> None:
    """Lock, until the transaction ends, the root rows of the chains of `case_ids` (a case
    without links being its own root), before the caller reads their sources or roots."""
    # Two transactions writing into one chain (one moving its root while the other links a case
    # below it, or linking A→B and B→A) would each check and write from what they read before
    # the other committed: a stale root, a cycle. Every writer locks the roots first, in
    # ascending id (ORDER BY locks in that order: no deadlock between first rounds), and reads
    # again once it holds them, since a root may have moved while it waited; then it locks the
    # new roots too. SQLite renders no FOR UPDATE: its writer holds the whole database already.
    cases = _cases()
    dialect = dialect_of(session)
    ids = set(case_ids)
    locked: set[int] = set()
    while True:
        wanted = {root or case_id for case_id, root in stored_roots(session, ids).items()}
        if wanted <= locked:
            return
        for part in chunks(sorted(wanted - locked)):
            session.execute(
                select(cases.c.id)
                .where(member_of(cases.c.id, part, dialect=dialect))
                .order_by(cases.c.id)
                .with_for_update()
            )
        locked |= wanted


def joined(session: Session, links: Sequence[tuple[int, int]]) -> None:
    """Bring the roots up to date after `links` (source, target) were written, each target
    without a source before them and none closing a cycle (the callers' checks, made under
    `lock_chains`)."""
    if not links:
        return
    source_of = {target: source for source, target in links}
    stored = stored_roots(session, {case_id for link in links for case_id in link})

    def top(case_id: int) -> int:
        # Up to the stored root; past it while the batch gives that root a source.
        root = stored[case_id] or case_id
        for _ in range(len(links) + 1):
            if root not in source_of:
                return root
            source = source_of[root]
            root = stored[source] or source
        raise ValueError("links: the batch closes a cycle")

    roots = {case_id: top(case_id) for case_id in stored}
    cases = _cases()
    dialect = dialect_of(session)
    # The chains the targets were the roots of, then the linked cases themselves.
    moved = [(target, roots[target]) for target in source_of if stored[target] is not None]
    own = [(case_id, root) for case_id, root in roots.items() if stored[case_id] != root]
    for pairs, key in ((moved, cases.c.chain_root_id), (own, cases.c.id)):
        for part in chunks(pairs):
            mapping = int_pairs(part, dialect=dialect)
            session.execute(
                update(cases)
                .where(
                    key == mapping.c.key, cases.c.chain_root_id.is_distinct_from(mapping.c.value)
                )
                .values(chain_root_id=mapping.c.value)
            )
    _forget_loaded(session)


def split(session: Session, *, source_case_id: int, target_case_id: int) -> None:
    """Bring the roots up to date after the link source → target was removed: the target's
    part of the chain becomes a chain of its own; a case left without links has no root."""
    link = TransmissionLink
    below = (
        select(link.target_case_id.label("case_id"))
        .where(link.source_case_id == target_case_id)
        .cte("below", recursive=True)
    )
    below = below.union_all(
        select(link.target_case_id).join(below, link.source_case_id == below.c.case_id)
    )
    cases = _cases()
    session.execute(
        update(cases)
        .where(
            or_(
                cases.c.id == target_case_id,
                cases.c.id.in_(select(below.c.case_id)),
            )
        )
        .values(chain_root_id=target_case_id)
    )
    session.execute(
        update(cases)
        .where(
            cases.c.id.in_((source_case_id, target_case_id)),
            ~exists().where(
                or_(link.source_case_id == cases.c.id, link.target_case_id == cases.c.id)
            ),
        )
        .values(chain_root_id=None)
    )
    _forget_loaded(session)


def _forget_loaded(session: Session) -> None:
    """The roots were written past the ORM: cases already loaded read theirs again."""
    for loaded in list(session.identity_map.values()):
        if isinstance(loaded, Case):
            session.expire(loaded, ["chain_root_id"])
