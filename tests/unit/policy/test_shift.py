"""The shifts' handover times: which shift is running at an instant, and what a file may say."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from xietong.policy.rules import ShiftRules

TZ = "Asia/Shanghai"
LOCAL = ZoneInfo(TZ)


@pytest.mark.parametrize(
    ("local_now", "began"),
    [
        (datetime(2022, 11, 14, 8, 0, tzinfo=LOCAL), datetime(2022, 11, 14, 8, 0, tzinfo=LOCAL)),
        (datetime(2022, 11, 14, 19, 59, tzinfo=LOCAL), datetime(2022, 11, 14, 8, 0, tzinfo=LOCAL)),
        (datetime(2022, 11, 14, 20, 0, tzinfo=LOCAL), datetime(2022, 11, 14, 20, 0, tzinfo=LOCAL)),
        (datetime(2022, 11, 15, 0, 30, tzinfo=LOCAL), datetime(2022, 11, 14, 20, 0, tzinfo=LOCAL)),
        (datetime(2022, 11, 15, 7, 59, tzinfo=LOCAL), datetime(2022, 11, 14, 20, 0, tzinfo=LOCAL)),
    ],
)
def test_the_shift_began_at_the_last_handover_before_now(
    local_now: datetime, began: datetime
) -> None:
    rules = ShiftRules(starts=("08:00", "20:00"))
    now = local_now.astimezone(UTC)
    start = rules.start_of_shift(now, TZ)
    assert start.tzinfo is UTC
    assert start == began


def test_one_shift_a_day_began_at_its_time_today_or_yesterday() -> None:
    rules = ShiftRules(starts=("06:30",))
    now = datetime(2022, 11, 14, 6, 0, tzinfo=LOCAL)
    assert rules.start_of_shift(now, TZ) == datetime(2022, 11, 13, 6, 30, tzinfo=LOCAL)


@pytest.mark.parametrize(
    "starts", [(), ("8:00",), ("24:00",), ("20:00", "08:00"), ("08:00", "08:00")]
)
def test_a_shift_list_that_is_not_increasing_clock_times_is_refused(
    starts: tuple[str, ...],
) -> None:
    with pytest.raises(ValidationError, match="starts"):
        ShiftRules(starts=starts)
