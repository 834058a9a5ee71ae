"""Transmission chains (線): connected components of the case-to-case links, their generations
and the spillovers (外溢) between districts. Pure: arrays and records in, records out.

A chain is named by its smallest case id, so that the same chain keeps its name as it grows
at the edges (it changes only when two chains are joined by a new link).
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


@dataclass(frozen=True)
class ChainNode:
    case_id: int
    district_id: int
    classification: str
    report_day: date
    found_under_control: bool


@dataclass(frozen=True)
class ChainEdge:
    source_case_id: int
    target_case_id: int
    from_district_id: int
    to_district_id: int
    day: date
    evidence_kind: str

    @property
    def spillover(self) -> bool:
        return self.from_district_id != self.to_district_id


def chain_of_every_case(
    case_ids: Sequence[int], links: Sequence[tuple[int, int]]
) -> dict[int, int]:
    """Case id → its chain's name (the smallest case id of its connected component).

    Every case in `case_ids` appears (a case without links is a chain of one); a link naming a
    case outside `case_ids` is an error.
    """
    ids = np.asarray(sorted(set(case_ids)), dtype=np.int64)
    if ids.size == 0:
        return {}
    pairs = np.asarray(links, dtype=np.int64).reshape(-1, 2)
    rows = np.searchsorted(ids, pairs[:, 0])
    cols = np.searchsorted(ids, pairs[:, 1])
    if (rows >= ids.size).any() or (cols >= ids.size).any():
        raise ValueError("links: every linked case must be among case_ids")
    if (ids[rows] != pairs[:, 0]).any() or (ids[cols] != pairs[:, 1]).any():
        raise ValueError("links: every linked case must be among case_ids")
    graph = coo_matrix(
        (np.ones(rows.size, dtype=np.int8), (rows, cols)), shape=(ids.size, ids.size)
    )
    count, labels = connected_components(graph, directed=False)
    smallest = np.full(count, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(smallest, labels, ids)
    return dict(zip(ids.tolist(), smallest[labels].tolist(), strict=True))


def generations(nodes: Iterable[ChainNode], edges: Iterable[ChainEdge]) -> dict[int, int]:
    """Generation of every case: 1 for a case with no known source, its source's plus one else."""
    node_ids = {n.case_id for n in nodes}
    children: dict[int, list[int]] = defaultdict(list)
    has_source: set[int] = set()
    for edge in edges:
        children[edge.source_case_id].append(edge.target_case_id)
        has_source.add(edge.target_case_id)
    result: dict[int, int] = {}
    queue = deque((case_id, 1) for case_id in sorted(node_ids - has_source))
    while queue:
        case_id, generation = queue.popleft()
        if case_id in result:
            continue
        result[case_id] = generation
        queue.extend((child, generation + 1) for child in sorted(children[case_id]))
    return result


def spillover_counts(edges: Iterable[ChainEdge]) -> Counter[tuple[date, int, int]]:
    """Spillover links per (day, from district, to district); links within a district are not."""
    return Counter((e.day, e.from_district_id, e.to_district_id) for e in edges if e.spillover)


def would_close_a_cycle(source_case_id: int, target_case_id: int, sources: dict[int, int]) -> bool:
    """Whether linking source → target makes the target its own ancestor.

    `sources` maps each case to its one source; following it up from `source_case_id` must never
    reach `target_case_id`.
    """
    seen: set[int] = set()
    current: int | None = source_case_id
    while current is not None and current not in seen:
        if current == target_case_id:
            return True
        seen.add(current)
        current = sources.get(current)
    return False
