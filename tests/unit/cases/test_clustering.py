"""Cluster proposals by shared place within the policy's window, and when a cluster goes quiet."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xietong.cases.clusters.grouping import PlaceVisit, closes_on, group_by_place, is_active

DAY = date(2022, 11, 1)


def visit(case_id: int, building_id: int, offset: int) -> PlaceVisit:
    return PlaceVisit(case_id, building_id, DAY + timedelta(days=offset))


def test_two_cases_at_one_building_within_the_window_are_proposed_together() -> None:
    groups = group_by_place([visit(1, 7, 0), visit(2, 7, 14)], window_days=14)
    assert [(g.building_id, g.case_ids) for g in groups] == [(7, (1, 2))]


def test_a_case_more_than_the_window_after_the_last_starts_afresh() -> None:
    groups = group_by_place(
        [visit(1, 7, 0), visit(2, 7, 3), visit(3, 7, 18), visit(4, 7, 20)], window_days=14
    )
    assert [g.case_ids for g in groups] == [(1, 2), (3, 4)]
    assert (groups[1].first_day, groups[1].last_day) == (DAY + timedelta(18), DAY + timedelta(20))


def test_a_chain_of_cases_each_within_the_window_is_one_cluster() -> None:
    groups = group_by_place([visit(i, 7, 10 * i) for i in range(4)], window_days=14)
    assert [g.case_ids for g in groups] == [(0, 1, 2, 3)]


def test_one_case_alone_or_twice_at_a_place_is_no_cluster() -> None:
    assert group_by_place([visit(1, 7, 0), visit(1, 7, 2), visit(2, 8, 0)], window_days=14) == []


def test_different_buildings_are_different_clusters() -> None:
    groups = group_by_place(
        [visit(1, 7, 0), visit(2, 7, 1), visit(1, 8, 0), visit(3, 8, 2)], window_days=14
    )
    assert [(g.building_id, g.case_ids) for g in groups] == [(7, (1, 2)), (8, (1, 3))]


def test_the_window_must_be_at_least_a_day() -> None:
    with pytest.raises(ValueError, match="window_days"):
        group_by_place([], window_days=0)


def test_a_cluster_is_active_through_its_last_quiet_day() -> None:
    last = DAY
    assert closes_on(last, inactive_after_days=14) == DAY + timedelta(14)
    assert is_active(last, on=DAY + timedelta(14), inactive_after_days=14)
    assert not is_active(last, on=DAY + timedelta(15), inactive_after_days=14)


@given(
    st.lists(st.tuples(st.integers(1, 8), st.integers(1, 3), st.integers(0, 60)), max_size=40),
    st.integers(1, 20),
)
def test_groups_never_share_a_visit_and_hold_two_cases_or_more(
    raw: list[tuple[int, int, int]], window: int
) -> None:
    visits = [visit(c, b, d) for c, b, d in raw]
    groups = group_by_place(visits, window_days=window)
    seen: set[PlaceVisit] = set()
    for group in groups:
        assert len(group.case_ids) >= 2
        assert not seen.intersection(group.visits)
        seen.update(group.visits)
        days = sorted(v.day for v in visits if v.building_id == group.building_id)
        inside = [d for d in days if group.first_day <= d <= group.last_day]
        assert all((b - a).days <= window for a, b in pairwise(inside))
