"""The daily metrics the situation picture keeps, and which domain computes each of them.

Pure: names only, as the metrics contract (docs/domain-contracts.md) lists them. The aggregate
table has one column per name; the refresh asks each domain's `metrics` module for its own.
"""

from __future__ import annotations

from typing import Final, Literal

METRICS_BY_DOMAIN: Final[dict[str, tuple[str, ...]]] = {
    "screening": (
        "swabs_sampled",
        "tubes_sampled",
        "tubes_resulted",
        "tubes_positive",
        "pooled_positives",
    ),
    "cases": (
        "new_confirmed",
        "new_asymptomatic",
        "conversions",
        "found_under_control",
        "found_on_surface",
        "quarantine_occupancy",
    ),
    "referrals": ("referrals_opened", "referrals_closed", "referrals_overdue"),
    "zones": ("active_high_risk_areas",),
}

METRICS: Final[tuple[str, ...]] = tuple(
    name for names in METRICS_BY_DOMAIN.values() for name in names
)

DOMAIN_OF_METRIC: Final[dict[str, str]] = {
    name: domain for domain, names in METRICS_BY_DOMAIN.items() for name in names
}

# What a published bulletin gives per district and day (official counts); the rest of the
# metrics exist only where the city runs the whole system.
OFFICIAL_METRICS: Final[tuple[str, ...]] = (
    "new_confirmed",
    "new_asymptomatic",
    "conversions",
    "found_under_control",
    "found_on_surface",
)

Source = Literal["auto", "aggregates", "official"]
SOURCES: Final[tuple[str, ...]] = ("auto", "aggregates", "official")
