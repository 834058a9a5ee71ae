"""When a failed webhook is tried again: exponential backoff with jitter, computed from the
attempts persisted on the delivery (an in-process retry library would forget them on a restart)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class RetrySchedule:
    """Delays double from `first_delay` up to `max_delay`; after `max_attempts`, dead letter.

    The defaults keep retrying a district system that is down for about two and a half hours
    (a night-shift outage), then hand the message to a person through the dead-letter list.
    """

    first_delay: timedelta = timedelta(seconds=5)
    max_delay: timedelta = timedelta(minutes=30)
    max_attempts: int = 12
    # Share of each delay drawn at random, so that endpoints coming back up are not stampeded.
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.first_delay <= timedelta(0):
            raise ValueError("first_delay: must be positive")
        if self.max_delay < self.first_delay:
            raise ValueError("max_delay: must not be shorter than first_delay")
        if self.max_attempts < 1:
            raise ValueError("max_attempts: must be at least 1")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("jitter: must be between 0 and 1")

    def base_delay(self, attempts: int) -> timedelta:
        """The delay before the next try after `attempts` failed attempts, before jitter."""
        if attempts < 1:
            raise ValueError("attempts: at least one attempt precedes a retry")
        # Cap the exponent first: 2**attempts of a long-lived row must not overflow a timedelta.
        factor: int = 2 ** min(attempts - 1, 40)
        return min(self.max_delay, self.first_delay * factor)

    def delay_after(self, attempts: int, rng: random.Random) -> timedelta:
        """The jittered delay, between (1 - jitter) and 1 times the base delay."""
        base = self.base_delay(attempts)
        return base * (1.0 - self.jitter * rng.random())

    def exhausted(self, attempts: int) -> bool:
        return attempts >= self.max_attempts
