"""Turning a screening source's answer (building → days) into the buildings × days matrix: days
outside the window and buildings not asked for are dropped, never misplaced."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta

import numpy as np
from sqlalchemy.orm import Session

from xietong.zones.countdown import negative_matrix, resolve_screening

FIRST = date(2022, 11, 15)


def source(
    session: Session, *, building_ids: Collection[int], first_day: date, last_day: date
) -> dict[int, set[date]]:
    # A sloppy source: a day before the window, one after, and a building nobody asked for.
    return {
        30: {FIRST, FIRST + timedelta(days=2), FIRST - timedelta(days=1)},
        10: {FIRST + timedelta(days=4), FIRST + timedelta(days=5)},
        99: {FIRST},
    }


def test_a_sources_days_land_in_their_building_and_day() -> None:
    matrix = negative_matrix(
        None,  # type: ignore[arg-type]  (the source ignores the session)
        building_ids=[30, 10, 20],
        first_day=FIRST,
        last_day=FIRST + timedelta(days=4),
        source=source,
    )
    expected = np.zeros((3, 5), dtype=bool)
    expected[0, [0, 2]] = True
    expected[1, 4] = True
    assert (matrix == expected).all()


def test_without_a_source_no_day_is_negative() -> None:
    matrix = negative_matrix(
        None,  # type: ignore[arg-type]
        building_ids=[1, 2],
        first_day=FIRST,
        last_day=FIRST + timedelta(days=4),
        source=None,
    )
    assert matrix.shape == (2, 5) and not matrix.any()


def test_a_given_source_is_used_and_none_is_needed_without_the_requirement() -> None:
    assert resolve_screening(source, required=True) == (source, "given")
    assert resolve_screening(source, required=False) == (None, "not_required")
