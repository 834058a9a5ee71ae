"""Chains are the connected components of the links; spillovers are links across districts."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xietong.cases.links.chains import (
    ChainEdge,
    ChainNode,
    chain_of_every_case,
    generations,
    spillover_counts,
    would_close_a_cycle,
)

DAY = date(2022, 11, 14)


def slow_components(ids: list[int], links: list[tuple[int, int]]) -> dict[int, int]:
    """The obvious oracle: grow each component by repeated passes over the links."""
    name = {i: i for i in ids}
    changed = True
    while changed:
        changed = False
        for a, b in links:
            low = min(name[a], name[b])
            for case in (a, b):
                if name[case] != low:
                    name[case] = low
                    changed = True
    # Make every member carry its component's smallest id.
    for _ in ids:
        for case in ids:
            name[case] = name[name[case]]
    return name


@given(
    st.lists(st.integers(1, 40), min_size=1, max_size=30, unique=True).flatmap(
        lambda ids: st.tuples(
            st.just(ids),
            st.lists(st.tuples(st.sampled_from(ids), st.sampled_from(ids)), max_size=40),
        )
    )
)
def test_chains_match_the_obvious_oracle(case: tuple[list[int], list[tuple[int, int]]]) -> None:
    ids, links = case
    assert chain_of_every_case(ids, links) == slow_components(ids, links)


def test_a_chain_is_named_by_its_smallest_case() -> None:
    assert chain_of_every_case([9, 4, 7, 1], [(9, 4), (7, 9)]) == {1: 1, 4: 4, 7: 4, 9: 4}


def test_a_link_to_an_unknown_case_is_refused() -> None:
    with pytest.raises(ValueError, match="links"):
        chain_of_every_case([1, 2], [(1, 3)])


def edge(source: int, target: int, a: int, b: int) -> ChainEdge:
    return ChainEdge(source, target, a, b, DAY, "household")


def test_generations_count_from_the_cases_without_a_known_source() -> None:
    nodes = [ChainNode(i, 1, "confirmed", DAY, True) for i in (1, 2, 3, 4)]
    assert generations(nodes, [edge(1, 2, 1, 1), edge(2, 3, 1, 1), edge(1, 4, 1, 1)]) == {
        1: 1,
        2: 2,
        3: 3,
        4: 2,
    }


def test_spillovers_are_counted_per_day_and_ordered_pair_of_districts() -> None:
    counts = spillover_counts(
        [edge(1, 2, 10, 20), edge(1, 3, 10, 20), edge(3, 4, 20, 10), edge(2, 5, 20, 20)]
    )
    assert counts == {(DAY, 10, 20): 2, (DAY, 20, 10): 1}


def test_a_link_making_a_case_its_own_ancestor_closes_a_cycle() -> None:
    sources = {3: 2, 2: 1}  # 1 → 2 → 3
    assert would_close_a_cycle(3, 1, sources)
    assert would_close_a_cycle(2, 2, {})
    assert not would_close_a_cycle(1, 4, sources)
