"""A server replaying the past runs its clock from the replay's last evening, at the wall's pace."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from xietong.core import clock


def test_a_clock_run_from_the_past_reads_that_time_and_moves_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(clock, "_shift", timedelta(0))  # restored after the test
    evening = datetime(2022, 11, 21, 14, 0, tzinfo=UTC)
    clock.run_clock_from(evening)
    first = clock.utcnow()
    assert evening <= first < evening + timedelta(seconds=5)
    assert clock.utcnow() >= first


def test_a_naive_start_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "_shift", timedelta(0))
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.run_clock_from(datetime(2022, 11, 21, 22, 0))  # noqa: DTZ001 - the point
