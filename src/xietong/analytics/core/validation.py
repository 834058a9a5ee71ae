"""Checks of the arguments of the numerics: each error names the argument, the rule it broke and
the value it had, so that a caller can tell which input to fix.
"""

from __future__ import annotations

import math


def check_probability(name: str, value: float) -> None:
    """Refuse a probability outside [0, 1] (or not finite)."""
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name}: must lie in [0, 1], got {value}")


def check_at_least(name: str, value: int, minimum: int) -> None:
    """Refuse a whole number below ``minimum``."""
    if value < minimum:
        raise ValueError(f"{name}: must be at least {minimum}, got {value}")


def check_positive(name: str, value: float) -> None:
    """Refuse a number that is not finite and strictly positive."""
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name}: must be positive, got {value}")
