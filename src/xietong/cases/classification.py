"""How a case was found (under control or on the surface) and what a reclassification counts as.

Pure rules, no database: the service gathers the state at the moment of detection and asks here.
The bulletin convention: an asymptomatic infection later found to be confirmed is a conversion
(無症狀轉確診), counted among the day's confirmed cases but never as a new infection.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal, get_args

Classification = Literal["confirmed", "asymptomatic"]
ControlReason = Literal["quarantine_order", "held", "high_risk_area"]

CLASSIFICATIONS: tuple[Classification, ...] = get_args(Classification)
# In the order they are checked: the strongest control first, so the stored reason is the one
# that put the person out of the community.
CONTROL_REASONS: tuple[ControlReason, ...] = get_args(ControlReason)


@dataclass(frozen=True, kw_only=True)
class ControlState:
    """What held a person at the instant an infection was found."""

    under_quarantine_order: bool
    held_as_pool_member: bool
    in_high_risk_area: bool


@dataclass(frozen=True)
class Detection:
    found_under_control: bool
    reason: ControlReason | None

    @property
    def on_surface(self) -> bool:
        return not self.found_under_control


def classify_detection(state: ControlState) -> Detection:
    """Under control (管控內) if any control held the person, else on the surface (社會面)."""
    held = {
        "quarantine_order": state.under_quarantine_order,
        "held": state.held_as_pool_member,
        "high_risk_area": state.in_high_risk_area,
    }
    for reason in CONTROL_REASONS:
        if held[reason]:
            return Detection(True, reason)
    return Detection(False, None)


class ReclassificationRefused(ValueError):
    """A change of class the rules do not allow; the message says why."""


@dataclass(frozen=True)
class Reclassification:
    classification: Classification
    initial_classification: Classification
    is_conversion: bool


def reclassify(
    *,
    current: Classification,
    initial: Classification,
    new: Classification,
    report_day: date,
    change_day: date,
) -> Reclassification:
    """The case's classes after a change on `change_day`.

    On the report day itself a change is a correction: the case is counted in its corrected class
    as if first reported so. Later, asymptomatic → confirmed is a conversion (the report day and
    the first class stay); confirmed → asymptomatic is refused, a confirmed case stays confirmed.
    """
    if new not in CLASSIFICATIONS:
        raise ReclassificationRefused(f"classification must be one of {list(CLASSIFICATIONS)}")
    if new == current:
        raise ReclassificationRefused(f"the case is already {current}")
    if change_day < report_day:
        raise ReclassificationRefused(
            f"a case reported on {report_day} cannot be reclassified on {change_day}"
        )
    if change_day == report_day:
        return Reclassification(new, new, is_conversion=False)
    if current == "asymptomatic" and new == "confirmed":
        return Reclassification("confirmed", initial, is_conversion=True)
    raise ReclassificationRefused(
        "a confirmed case is not reclassified as asymptomatic after its report day"
    )
