"""The zones rules, pure: the lifting countdown, the surface-case proposals and a day-by-day replay.

Arrays in, frozen results out, no database: rows are buildings, columns consecutive local days.
Shared by the daily evaluation (one day over every locked building), the public list (the earliest
possible lifting day) and the what-if (every day of a past period under another policy).

A clean day (快解): a day without a new infection in the building, on which, when the policy asks
for it, the building's screening was negative — a day without a complete negative round does not
count, so that missing results never unlock a building. Only days from the area's count start
(its designation day, or the day after a rejected lifting) count. A lifting is proposed on the
evening of the N-th consecutive clean day (二十条: 连续5天未发现新增感染者).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from xietong.policy.rules import RiskAreaRules

__all__ = [
    "Countdown",
    "LiftingRule",
    "Replay",
    "clean_days",
    "earliest_lifting_offsets",
    "lifting_countdown",
    "replay",
    "surface_proposals",
    "trailing_run",
]

Flags = NDArray[np.bool_]
Counts = NDArray[np.int64]


@dataclass(frozen=True)
class LiftingRule:
    """The numbers of the policy's `[risk_area]` table that the rules act on."""

    clean_days: int
    requires_negative_screening: bool
    propose_on_surface_case: bool

    def __post_init__(self) -> None:
        if self.clean_days < 1:
            raise ValueError(f"clean_days: must be at least 1 (got {self.clean_days})")

    @classmethod
    def from_policy(cls, rules: RiskAreaRules) -> LiftingRule:
        return cls(
            clean_days=rules.lift_after_clean_days,
            requires_negative_screening=rules.lifting_requires_negative_screening,
            propose_on_surface_case=rules.propose_on_surface_case,
        )


def _flags(name: str, value: object, shape: tuple[int, ...] | None = None) -> Flags:
    array = np.asarray(value)
    if array.dtype != np.bool_:
        raise ValueError(f"{name}: must be an array of booleans (got {array.dtype})")
    if shape is not None and array.shape != shape:
        raise ValueError(f"{name}: must have shape {shape} (got {array.shape})")
    return array


def _offsets(name: str, value: object, rows: int) -> Counts:
    array = np.asarray(value)
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name}: must be an array of whole day offsets (got {array.dtype})")
    if array.shape != (rows,):
        raise ValueError(f"{name}: must have one value per building, shape ({rows},)")
    return array.astype(np.int64, copy=False)


def clean_days(
    *,
    infected: Flags,
    negative: Flags | None,
    countable_from: Counts,
    requires_negative_screening: bool,
) -> Flags:
    """Which (building, day) cells are clean days.

    Parameters
    ----------
    infected : (B, D) bool
        A new infection was found in the building that day.
    negative : (B, D) bool or None
        The building was screened that day and every result was negative. May be None only when
        the policy does not ask for negative screening.
    countable_from : (B,) int
        Column of each building's first countable day (may lie before or after the window).
    requires_negative_screening : bool
        The policy's `risk_area.lifting_requires_negative_screening`.
    """
    infected = _flags("infected", infected)
    if infected.ndim != 2:
        raise ValueError(f"infected: must be buildings × days (got {infected.ndim} dimensions)")
    rows, days = infected.shape
    starts = _offsets("countable_from", countable_from, rows)
    clean = ~infected & (np.arange(days, dtype=np.int64)[None, :] >= starts[:, None])
    if requires_negative_screening:
        if negative is None:
            raise ValueError("negative: required when the policy asks for negative screening")
        clean &= _flags("negative", negative, infected.shape)
    return clean


def trailing_run(flags: Flags) -> Counts:
    """Per row, how many consecutive True cells end in the last column."""
    flags = _flags("flags", flags)
    rows, days = flags.shape
    if days == 0:
        return np.zeros(rows, dtype=np.int64)
    columns = np.arange(days, dtype=np.int64)
    last_unclean = np.where(flags, -1, columns[None, :]).max(axis=1)
    run: Counts = (days - 1 - last_unclean).astype(np.int64)
    return run


@dataclass(frozen=True)
class Countdown:
    """The lifting countdown of each building on the evaluated day (the last column)."""

    clean_streak: Counts  # consecutive clean days ending on the evaluated day
    due: Flags  # a lifting is to be proposed
    days_to_go: Counts  # clean days still needed after the evaluated day (0 when due)


def lifting_countdown(
    *,
    infected: Flags,
    negative: Flags | None,
    countable_from: Counts,
    rule: LiftingRule,
) -> Countdown:
    """Evaluate the countdown on the last day of the window for every building at once.

    The window needs at least `rule.clean_days` columns; more are allowed and only make the
    streak longer than needed.
    """
    clean = clean_days(
        infected=infected,
        negative=negative,
        countable_from=countable_from,
        requires_negative_screening=rule.requires_negative_screening,
    )
    if clean.shape[1] < rule.clean_days:
        raise ValueError(
            f"infected: the window must hold at least {rule.clean_days} days (got {clean.shape[1]})"
        )
    streak = trailing_run(clean)
    return Countdown(
        clean_streak=streak,
        due=streak >= rule.clean_days,
        days_to_go=np.maximum(rule.clean_days - streak, 0),
    )


def earliest_lifting_offsets(
    *,
    streak_before: Counts,
    countable_from: Counts,
    infected_today: Flags | None = None,
    rule: LiftingRule,
) -> Counts:
    """Days from today to the earliest day a lifting can be proposed, if no further infection
    comes.

    `streak_before` is each building's clean streak ending yesterday (the last complete day);
    `countable_from` the first countable day, in days from today (negative: already counting);
    `infected_today` the buildings with an infection today, which cannot count today as clean.
    """
    streak = np.asarray(streak_before, dtype=np.int64)
    starts = _offsets("countable_from", countable_from, streak.shape[0])
    if infected_today is not None:
        hit = _flags("infected_today", infected_today, streak.shape)
        streak = np.where(hit, 0, streak)
        starts = np.where(hit, np.maximum(starts, 1), starts)
    still_needed = np.maximum(rule.clean_days - streak, 1)
    return (np.maximum(starts, 0) + still_needed - 1).astype(np.int64)


def surface_proposals(
    *, surface_infection: Flags, has_open_area: Flags, rule: LiftingRule
) -> Flags:
    """Buildings to propose: a surface infection and no open area yet (该封的要封)."""
    found = _flags("surface_infection", surface_infection)
    open_ = _flags("has_open_area", has_open_area, found.shape)
    if not rule.propose_on_surface_case:
        return np.zeros(found.shape, dtype=np.bool_)
    return found & ~open_


@dataclass(frozen=True)
class Replay:
    """Lock episodes of a replayed period; columns are offsets into the period."""

    building: Counts  # row of the building
    locked_on: Counts  # first locked day (may be before the period for areas locked at start)
    lifted_on: Counts  # first day no longer locked; -1 while still locked at the period's end
    locked_days: Counts  # per building: locked days inside the period


def replay(
    *,
    infected: Flags,
    surface: Flags,
    negative: Flags | None,
    designated: Flags,
    locked_at_start: Flags,
    locked_since: Counts,
    countable_from: Counts,
    streak_at_start: Counts,
    rule: LiftingRule,
) -> Replay:
    """Re-run the rules day by day over a period, assuming each proposal is approved at once.

    A surface infection locks its building the same day (when the rule proposes on surface
    cases); a hand designation (`designated`) locks on its day whatever the rule; a locked
    building is lifted on its N-th consecutive clean day. Buildings locked when the period
    starts carry their designation day, count start and clean streak in.
    """
    infected = _flags("infected", infected)
    rows, days = infected.shape
    surface = _flags("surface", surface, infected.shape)
    designated = _flags("designated", designated, infected.shape)
    if rule.requires_negative_screening:
        if negative is None:
            raise ValueError("negative: required when the policy asks for negative screening")
        negative = _flags("negative", negative, infected.shape)
    locked = _flags("locked_at_start", locked_at_start, (rows,)).copy()
    since = _offsets("locked_since", locked_since, rows).copy()
    countable = _offsets("countable_from", countable_from, rows).copy()
    streak = np.where(locked, _offsets("streak_at_start", streak_at_start, rows), 0)
    locked_days = np.zeros(rows, dtype=np.int64)
    found_b: list[Counts] = []
    found_from: list[Counts] = []
    found_to: list[Counts] = []
    # Carried in already past its clean days: under these rules it would be lifted on day one.
    overdue = locked & (streak >= rule.clean_days)
    if overdue.any():
        rows_overdue = np.flatnonzero(overdue)
        found_b.append(rows_overdue)
        found_from.append(since[rows_overdue])
        found_to.append(np.zeros(rows_overdue.shape, dtype=np.int64))
        locked &= ~overdue
        streak[overdue] = 0
    for day in range(days):
        trigger = designated[:, day]
        if rule.propose_on_surface_case:
            trigger = trigger | surface[:, day]
        new = trigger & ~locked
        locked |= new
        since[new] = day
        countable[new] = day
        streak[new] = 0
        clean = ~infected[:, day] & (day >= countable)
        if rule.requires_negative_screening and negative is not None:
            clean &= negative[:, day]
        streak = np.where(locked & clean, streak + 1, 0)
        lift = locked & (streak >= rule.clean_days)
        if lift.any():
            rows_lifted = np.flatnonzero(lift)
            found_b.append(rows_lifted)
            found_from.append(since[rows_lifted])
            found_to.append(np.full(rows_lifted.shape, day, dtype=np.int64))
            locked &= ~lift
            streak[lift] = 0
        locked_days += locked
    still = np.flatnonzero(locked)
    found_b.append(still)
    found_from.append(since[still])
    found_to.append(np.full(still.shape, -1, dtype=np.int64))
    building = np.concatenate(found_b).astype(np.int64)
    locked_on = np.concatenate(found_from).astype(np.int64)
    lifted_on = np.concatenate(found_to).astype(np.int64)
    order = np.lexsort((locked_on, building))
    return Replay(
        building=building[order],
        locked_on=locked_on[order],
        lifted_on=lifted_on[order],
        locked_days=locked_days,
    )
