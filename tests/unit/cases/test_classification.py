"""Under control or on the surface, and what a change of class counts as (the bulletin's rules)."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest

from xietong.cases.classification import (
    ControlState,
    ReclassificationRefused,
    classify_detection,
    reclassify,
)

REPORTED = date(2022, 11, 14)


def test_no_control_is_the_surface() -> None:
    detection = classify_detection(
        ControlState(
            under_quarantine_order=False, held_as_pool_member=False, in_high_risk_area=False
        )
    )
    assert (detection.found_under_control, detection.reason, detection.on_surface) == (
        False,
        None,
        True,
    )


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (
            dict(under_quarantine_order=True, held_as_pool_member=False, in_high_risk_area=False),
            "quarantine_order",
        ),
        (
            dict(under_quarantine_order=False, held_as_pool_member=True, in_high_risk_area=False),
            "held",
        ),
        (
            dict(under_quarantine_order=False, held_as_pool_member=False, in_high_risk_area=True),
            "high_risk_area",
        ),
    ],
)
def test_each_control_alone_is_under_control_with_its_reason(
    state: dict[str, bool], reason: str
) -> None:
    detection = classify_detection(ControlState(**state))
    assert (detection.found_under_control, detection.reason) == (True, reason)


def test_any_control_is_under_control_and_the_strongest_is_named() -> None:
    for flags in itertools.product((False, True), repeat=3):
        detection = classify_detection(
            ControlState(
                under_quarantine_order=flags[0],
                held_as_pool_member=flags[1],
                in_high_risk_area=flags[2],
            )
        )
        assert detection.found_under_control is any(flags)
        if any(flags):
            expected = ("quarantine_order", "held", "high_risk_area")[flags.index(True)]
            assert detection.reason == expected


def test_a_change_on_the_report_day_is_a_correction_not_a_conversion() -> None:
    change = reclassify(
        current="asymptomatic",
        initial="asymptomatic",
        new="confirmed",
        report_day=REPORTED,
        change_day=REPORTED,
    )
    assert (change.classification, change.initial_classification, change.is_conversion) == (
        "confirmed",
        "confirmed",
        False,
    )


def test_asymptomatic_to_confirmed_after_the_report_day_is_a_conversion() -> None:
    change = reclassify(
        current="asymptomatic",
        initial="asymptomatic",
        new="confirmed",
        report_day=REPORTED,
        change_day=REPORTED + timedelta(days=2),
    )
    assert (change.classification, change.initial_classification, change.is_conversion) == (
        "confirmed",
        "asymptomatic",
        True,
    )


def test_a_confirmed_case_can_be_corrected_to_asymptomatic_only_on_its_report_day() -> None:
    same_day = reclassify(
        current="confirmed",
        initial="confirmed",
        new="asymptomatic",
        report_day=REPORTED,
        change_day=REPORTED,
    )
    assert same_day.initial_classification == "asymptomatic"
    with pytest.raises(ReclassificationRefused, match="not reclassified"):
        reclassify(
            current="confirmed",
            initial="confirmed",
            new="asymptomatic",
            report_day=REPORTED,
            change_day=REPORTED + timedelta(days=1),
        )


@pytest.mark.parametrize(
    ("current", "new", "change_day", "message"),
    [
        ("confirmed", "confirmed", REPORTED, "already confirmed"),
        ("asymptomatic", "confirmed", REPORTED - timedelta(days=1), "cannot be reclassified"),
    ],
)
def test_refused_changes_say_why(current: str, new: str, change_day: date, message: str) -> None:
    with pytest.raises(ReclassificationRefused, match=message):
        reclassify(
            current=current,  # type: ignore[arg-type]
            initial=current,  # type: ignore[arg-type]
            new=new,  # type: ignore[arg-type]
            report_day=REPORTED,
            change_day=change_day,
        )
