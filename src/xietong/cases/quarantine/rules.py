"""Quarantine of close contacts: the dates an order runs by (from the policy) and the choice of a
facility with a free bed on every day of the centralised phase. Pure: no database.

Day 1 is the day the order starts (the contact is placed), so a contact traced late still serves
the whole period; test days are counted from day 1 of each phase as the policy lists them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from xietong.policy.rules import QuarantineRules


@dataclass(frozen=True)
class QuarantinePlan:
    starts_on: date  # day 1 of centralised quarantine
    home_from: date  # day 1 of home isolation (the first day without a bed)
    ends_on: date  # the last day of the order
    test_days: tuple[date, ...]

    @property
    def bed_days(self) -> tuple[date, ...]:
        """The days the contact occupies a centralised-quarantine bed."""
        count = (self.home_from - self.starts_on).days
        return tuple(self.starts_on + timedelta(days=i) for i in range(count))

    @property
    def last_test_day(self) -> date:
        return self.test_days[-1] if self.test_days else self.ends_on


class NoQuarantine(ValueError):
    """The policy in force quarantines close contacts for no days at all."""


def plan_quarantine(rules: QuarantineRules, *, starts_on: date) -> QuarantinePlan:
    """The dates of an order starting on `starts_on` under `rules` (5 + 3 days by default)."""
    if rules.total_days == 0:
        raise NoQuarantine("the policy in force quarantines close contacts for 0 days")
    home_from = starts_on + rules.centralised_quarantine
    ends_on = starts_on + timedelta(days=rules.total_days - 1)
    test_days = tuple(starts_on + timedelta(days=day - 1) for day in rules.test_days_from_start)
    return QuarantinePlan(starts_on, home_from, ends_on, test_days)


class ReleaseRefused(ValueError):
    """A release the rules do not allow yet; the message says why."""


def check_release(
    plan: QuarantinePlan, *, release_day: date, test_day: date, test_result: str
) -> None:
    """Refuse a release before the end date, without a negative test, or on an early test."""
    if test_result != "negative":
        raise ReleaseRefused(
            f"a release needs a negative test (got {test_result!r}); a positive contact is a case"
        )
    if release_day < plan.ends_on:
        raise ReleaseRefused(f"the order ends on {plan.ends_on}; it cannot be released earlier")
    if test_day < plan.last_test_day:
        raise ReleaseRefused(
            f"the release test must be taken on or after the last test day {plan.last_test_day}"
        )
    if test_day > release_day:
        raise ReleaseRefused("the release test cannot be taken after the release")


@dataclass(frozen=True)
class FacilityBeds:
    """A quarantine facility as the choice sees it."""

    id: int
    code: str
    beds: int
    available_from: date | None = None
    available_to: date | None = None

    def open_on(self, day: date) -> bool:
        if self.available_from is not None and day < self.available_from:
            return False
        return self.available_to is None or day <= self.available_to


def choose_facility(
    facilities: Sequence[FacilityBeds],
    *,
    occupied: Mapping[tuple[int, date], int],
    days: Sequence[date],
) -> int | None:
    """The first facility (by code) open and with a free bed on every day of `days`, or None.

    `occupied` maps (facility id, day) to beds already taken; a facility is never filled past its
    beds, whatever the order in which contacts arrive.
    """
    if not days:
        return None
    for facility in sorted(facilities, key=lambda f: f.code):
        if all(
            facility.open_on(day) and occupied.get((facility.id, day), 0) < facility.beds
            for day in days
        ):
            return facility.id
    return None
