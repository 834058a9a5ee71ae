"""Which policy was in force on which day: the dated succession of policy versions.

Pure and in memory, so that any past decision can be explained by the rules of its day; the
stored history of policies is built on top of this class.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import NamedTuple

from xietong.policy.rules import Policy

__all__ = [
    "NoPolicyInForce",
    "PolicyHistory",
    "PolicyHistoryConflict",
    "PolicyPeriod",
    "PolicyVersion",
]


class NoPolicyInForce(LookupError):
    """Asked for a day before the first policy of the history took effect."""


class PolicyHistoryConflict(ValueError):
    """A policy that cannot join the history: its day or its version is already taken."""


class PolicyVersion(NamedTuple):
    """One line of the history's listing."""

    effective_from: date
    version: str
    name: str


@dataclass(frozen=True)
class PolicyPeriod:
    """A stretch of days (both ends included) during which one policy was in force."""

    first_day: date
    last_day: date
    policy: Policy

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1


class PolicyHistory:
    """Policies ordered by the day they take effect; each is in force until the next one."""

    def __init__(self, policies: Iterable[Policy] = ()) -> None:
        self._days: list[date] = []
        self._policies: list[Policy] = []
        for policy in policies:
            self.add(policy)

    def add(self, policy: Policy, *, effective_from: date | None = None) -> None:
        """Enter `policy` in force from `effective_from` (by default the date in the policy).

        Refuses a second policy on a day that already has one, and a version already entered:
        a version names one set of rules, and a day must have exactly one.
        """
        day = policy.effective_from if effective_from is None else effective_from
        index = bisect.bisect_left(self._days, day)
        if index < len(self._days) and self._days[index] == day:
            taken = self._policies[index].version
            raise PolicyHistoryConflict(
                f"effective_from: version {taken!r} already takes effect on {day.isoformat()}; "
                f"give {policy.version!r} another day"
            )
        for entered_day, entered in zip(self._days, self._policies, strict=True):
            if entered.version == policy.version:
                raise PolicyHistoryConflict(
                    f"version: {policy.version!r} is already in the history, from "
                    f"{entered_day.isoformat()}; a changed policy needs a new version"
                )
        self._days.insert(index, day)
        self._policies.insert(index, policy)

    def in_force_on(self, day: date) -> Policy:
        """The policy in force on `day`: the latest to take effect on or before it."""
        return self._policies[self._index_on(day)]

    def effective_from_of(self, day: date) -> date:
        """The day on which the policy in force on `day` took effect."""
        return self._days[self._index_on(day)]

    def as_of_versions(self) -> tuple[PolicyVersion, ...]:
        """Every version with the day it took effect, oldest first."""
        return tuple(
            PolicyVersion(effective_from=day, version=policy.version, name=policy.name)
            for day, policy in zip(self._days, self._policies, strict=True)
        )

    def periods(self, *, first_day: date, last_day: date) -> tuple[PolicyPeriod, ...]:
        """The policies in force over `first_day` .. `last_day`, one period per policy."""
        if last_day < first_day:
            raise ValueError(
                f"last_day ({last_day.isoformat()}) must not be before first_day "
                f"({first_day.isoformat()})"
            )
        start = self._index_on(first_day)
        found: list[PolicyPeriod] = []
        for index in range(start, len(self._days)):
            begins = max(self._days[index], first_day)
            if begins > last_day:
                break
            following = self._days[index + 1] if index + 1 < len(self._days) else None
            ends = last_day if following is None else min(following - timedelta(days=1), last_day)
            found.append(
                PolicyPeriod(first_day=begins, last_day=ends, policy=self._policies[index])
            )
        return tuple(found)

    def version(self, version: str) -> Policy:
        """The policy entered under `version`."""
        for policy in self._policies:
            if policy.version == version:
                return policy
        known = ", ".join(repr(policy.version) for policy in self._policies) or "none"
        raise KeyError(f"version: no policy {version!r} in the history (known: {known})")

    @property
    def latest(self) -> Policy:
        """The policy taking effect last (possibly on a future day)."""
        if not self._policies:
            raise NoPolicyInForce("the policy history is empty")
        return self._policies[-1]

    def __len__(self) -> int:
        return len(self._policies)

    def __iter__(self) -> Iterator[tuple[date, Policy]]:
        return iter(zip(self._days, self._policies, strict=True))

    def _index_on(self, day: date) -> int:
        index = bisect.bisect_right(self._days, day) - 1
        if index < 0:
            if not self._days:
                raise NoPolicyInForce(
                    f"no policy in force on {day.isoformat()}: the history is empty"
                )
            first = self._policies[0]
            raise NoPolicyInForce(
                f"no policy in force on {day.isoformat()}: the first, {first.version!r}, takes "
                f"effect on {self._days[0].isoformat()}"
            )
        return index
