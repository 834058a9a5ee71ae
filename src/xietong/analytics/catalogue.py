"""The daily metrics the situation picture keeps, and which domain computes each of them.

Names only, as the metrics contract (docs/domain-contracts.md) lists them, taken from each
domain's `metrics` module (its `METRICS`) so that the list and the counters cannot drift. The
aggregate table has one column per name; the refresh asks each domain's module for its own.
"""

from __future__ import annotations

from typing import Final, Literal

from xietong.cases import metrics as cases_metrics
from xietong.referrals import metrics as referrals_metrics
from xietong.screening import metrics as screening_metrics
from xietong.zones import metrics as zones_metrics

METRICS_BY_DOMAIN: Final[dict[str, tuple[str, ...]]] = {
    "screening": screening_metrics.METRICS,
    "cases": cases_metrics.METRICS,
    "referrals": referrals_metrics.METRICS,
    "zones": zones_metrics.METRICS,
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
