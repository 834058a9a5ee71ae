"""How the twin's districts answer the referrals pushed to them: most within the SLA, some late
(the escalation job catches them), a few re-routed to the district where the person really is,
a few declined for the command centre to reassign.

Pure: a referral hop's answer is drawn from the seed, the person, the reason and the hop, so a
replay stopped midway and resumed gives every referral the answer it would have had.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

import numpy as np

Kind = Literal["on_time", "late", "rerouted", "declined"]
Step = Literal["acknowledge", "locate", "control", "close", "reroute", "decline"]
LATE_SHARE = 0.13
# Of the referrals whose person stays in another district than the one receiving it (a pool
# member swabbed where they stay, away from home): the district finds nobody at home and pushes
# the referral on to where the person is, or declines it for the command centre to reassign.
ELSEWHERE_SHARES: dict[Kind, float] = {"rerouted": 0.25, "declined": 0.08}
# After the district declines, the command centre reassigns within this time.
REASSIGN_AFTER = (timedelta(minutes=20), timedelta(minutes=90))


@dataclass(frozen=True)
class Answer:
    """The steps of one hop, each at an offset from the moment the referral was pushed."""

    kind: Kind
    steps: tuple[tuple[Step, timedelta], ...]

    def step_after(self, done: int) -> tuple[Step, timedelta] | None:
        return self.steps[done] if done < len(self.steps) else None


def _minutes(rng: np.random.Generator, low: float, high: float) -> timedelta:
    return timedelta(minutes=float(rng.uniform(low, high)))


def answer(*, seed: int, person_id: int, reason: str, hop: int, can_reroute: bool) -> Answer:
    """The receiving district's answer to hop `hop` of a referral about `person_id`.

    A re-routed or reassigned referral is answered on time in its new district (hop > 1); a
    referral is re-routed or declined only when the person is known to stay in another district
    (where the referral is then pushed).
    """
    rng = np.random.default_rng([seed, person_id, hop, zlib.crc32(reason.encode())])
    late, elsewhere = rng.random(2)
    kind: Kind = "late" if hop == 1 and late < LATE_SHARE else "on_time"
    if hop == 1 and can_reroute:
        if elsewhere < ELSEWHERE_SHARES["rerouted"]:
            kind = "rerouted"
        elif elsewhere < ELSEWHERE_SHARES["rerouted"] + ELSEWHERE_SHARES["declined"]:
            kind = "declined"
    if kind == "rerouted":
        return Answer(kind, (("reroute", _minutes(rng, 15, 50)),))
    if kind == "declined":
        return Answer(kind, (("decline", _minutes(rng, 20, 55)),))
    # Acknowledge within the hour (late: well after it), then locate, control and report back.
    acknowledge = _minutes(rng, 70, 200) if kind == "late" else _minutes(rng, 4, 50)
    locate = acknowledge + _minutes(rng, 20, 120)
    control = locate + _minutes(rng, 10, 50)
    if kind == "late":
        control += _minutes(rng, 60, 180)
    close = control + _minutes(rng, 60, 360)
    return Answer(
        kind,
        (
            ("acknowledge", acknowledge),
            ("locate", locate),
            ("control", control),
            ("close", close),
        ),
    )


def reassign_delay(*, seed: int, person_id: int, hop: int) -> timedelta:
    """How long the command centre takes to reassign a declined referral."""
    rng = np.random.default_rng([seed, person_id, hop, 7])
    low, high = REASSIGN_AFTER
    return low + (high - low) * float(rng.random())
