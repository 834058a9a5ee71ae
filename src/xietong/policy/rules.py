"""The policy's rules as typed, validated values: every number the system acts on.

`Policy` mirrors the policy file (``policy/default.toml``) table for table and has no defaults of
its own, so the file stays the one place a rule number lives. Nothing here reads files.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

__all__ = [
    "MAX_POOL_SIZE",
    "AreaScreeningStatus",
    "ClusterRules",
    "LeftHighRiskAreaRules",
    "MutualAidRules",
    "Policy",
    "PositivePoolRules",
    "QuarantineRules",
    "ReferralSla",
    "RiskAreaRules",
    "RiskLevel",
    "ScreeningIntervals",
    "ScreeningMode",
    "ScreeningRules",
    "SerialInterval",
    "ShiftRules",
    "SurfaceZeroRule",
    "WindDownRules",
]

# The largest pool the national pooled-sampling specifications allow (20合1混采).
MAX_POOL_SIZE = 20

RiskLevel = Literal["high", "medium", "low"]
ScreeningMode = Literal["by_area_status", "wind_down"]
AreaScreeningStatus = Literal["high_risk_area", "central_urban_area", "other_districts"]

NonNegativeDays = Annotated[int, Field(ge=0)]
PositiveDays = Annotated[int, Field(ge=1)]
PositiveHours = Annotated[int, Field(ge=1)]
PoolSize = Annotated[int, Field(ge=1, le=MAX_POOL_SIZE)]
TestDay = Annotated[int, Field(ge=1)]

_RISK_LEVEL_ORDER: tuple[RiskLevel, ...] = ("high", "medium", "low")
# Units wider than a building: the twenty measures forbid designating them as high-risk areas.
_WIDER_THAN_BUILDING = {"compound", "residential_compound", "community", "street", "district"}


class _Rules(BaseModel):
    # Strict: a policy says 5, not "5" or true; a misspelt key is an error, never a silent default.
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


def _check_test_days(days: tuple[int, ...], *, period_days: int | None, period: str) -> None:
    if any(later <= earlier for earlier, later in pairwise(days)):
        raise ValueError(f"test days must be distinct and in increasing order (got {list(days)})")
    if period_days is not None and days and days[-1] > period_days:
        outside = [day for day in days if day > period_days]
        raise ValueError(
            f"test days {outside} fall outside the {period_days} days of {period} "
            f"(days are counted from 1)"
        )


def _test_days_within(period_field: str, period: str) -> AfterValidator:
    """Test days in increasing order, none past the period that `period_field` (a field declared
    before them) gives in days."""

    def check(days: tuple[int, ...], info: ValidationInfo) -> tuple[int, ...]:
        _check_test_days(days, period_days=info.data.get(period_field), period=period)
        return days

    return AfterValidator(check)


class RiskAreaRules(_Rules):
    """Risk levels and how a high-risk area is drawn and lifted (快封快解)."""

    levels: tuple[RiskLevel, ...] = Field(min_length=2)
    high_risk_area_unit: Literal["building", "unit"]
    propose_on_surface_case: bool
    lift_after_clean_days: PositiveDays
    lifting_requires_negative_screening: bool

    @field_validator("levels")
    @classmethod
    def _levels_from_high_to_low(cls, levels: tuple[RiskLevel, ...]) -> tuple[RiskLevel, ...]:
        if len(set(levels)) != len(levels):
            raise ValueError(f"each risk level may appear once (got {list(levels)})")
        if "high" not in levels or "low" not in levels:
            raise ValueError(f"the levels must include 'high' and 'low' (got {list(levels)})")
        if list(levels) != sorted(levels, key=_RISK_LEVEL_ORDER.index):
            raise ValueError(f"list the levels from high to low (got {list(levels)})")
        return levels

    @field_validator("high_risk_area_unit", mode="before")
    @classmethod
    def _never_wider_than_a_building(cls, unit: object) -> object:
        if isinstance(unit, str) and unit in _WIDER_THAN_BUILDING:
            raise ValueError(
                f"a high-risk area is a building or a unit, never a whole {unit} "
                "(二十条: not to be widened to compounds, communities or streets)"
            )
        return unit

    def earliest_lifting_day(self, last_new_infection_on: date) -> date:
        """The day a lifting can first be proposed: the last of the clean days.

        The clean days are counted from the day after the last new infection; on the last of
        them the area's screening must also be negative when the policy asks for it.
        """
        return last_new_infection_on + timedelta(days=self.lift_after_clean_days)


class QuarantineRules(_Rules):
    """Close contacts (密接): centralised quarantine, then home isolation, with their tests."""

    centralised_quarantine_days: NonNegativeDays
    home_isolation_days: NonNegativeDays
    centralised_quarantine_test_days: Annotated[
        tuple[TestDay, ...],
        _test_days_within("centralised_quarantine_days", "centralised quarantine"),
    ]
    home_isolation_test_days: Annotated[
        tuple[TestDay, ...], _test_days_within("home_isolation_days", "home isolation")
    ]
    trace_secondary_contacts: bool

    @property
    def total_days(self) -> int:
        """Days from the start of quarantine to the end of home isolation."""
        return self.centralised_quarantine_days + self.home_isolation_days

    @property
    def centralised_quarantine(self) -> timedelta:
        return timedelta(days=self.centralised_quarantine_days)

    @property
    def home_isolation(self) -> timedelta:
        return timedelta(days=self.home_isolation_days)

    @property
    def test_days_from_start(self) -> tuple[int, ...]:
        """Every test day counted from day 1 of centralised quarantine (5 + 3: 1 2 3 5 6 8)."""
        at_home = (self.centralised_quarantine_days + day for day in self.home_isolation_test_days)
        return (*self.centralised_quarantine_test_days, *at_home)


class LeftHighRiskAreaRules(_Rules):
    """People who had left a high-risk area (外溢人員) and are found elsewhere."""

    home_isolation_days: NonNegativeDays
    test_days: Annotated[
        tuple[TestDay, ...], _test_days_within("home_isolation_days", "home isolation")
    ]
    refer_when_in_other_district: bool

    @property
    def home_isolation(self) -> timedelta:
        return timedelta(days=self.home_isolation_days)


def _interval_or_none(value: object) -> object:
    # The union below would otherwise report two errors (one per member) for one bad value.
    if value == "none":
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise PydanticCustomError(
            "wrong_type",
            "expected {expected}",
            {"expected": "a whole number of days or 'none'"},
        )
    if value < 1:
        raise ValueError(f"must be at least 1 day, or 'none' for no routine rounds (got {value})")
    return value


IntervalOrNone = Annotated[int | Literal["none"], Field(union_mode="left_to_right")]


class ScreeningIntervals(_Rules):
    """Days between two rounds of screening, by the status of the place a person lives in."""

    high_risk_area: PositiveDays
    central_urban_area: PositiveDays
    other_districts: IntervalOrNone

    @field_validator("other_districts", mode="before")
    @classmethod
    def _days_or_none(cls, value: object) -> object:
        return _interval_or_none(value)

    def every_days(self, status: AreaScreeningStatus) -> int | None:
        """Days between rounds for `status`; None when such places have no routine round."""
        interval: int | Literal["none"] = getattr(self, status)
        return None if interval == "none" else interval


class PositivePoolRules(_Rules):
    """What a positive pooled tube (混管陽性) sets off."""

    hold_members: bool
    single_tube_retest: bool


class WindDownRules(_Rules):
    """Winding down mass screening in an affected district (rules of 21 Nov 2022)."""

    affected_district_every_days: PositiveDays
    clean_rounds: PositiveDays
    final_round_after_days: NonNegativeDays
    visited_district_clean_rounds: PositiveDays

    def shortest_rounds(self, first_round_on: date) -> tuple[date, ...]:
        """Days of the rounds when none finds a community case: then screening stops."""
        step = timedelta(days=self.affected_district_every_days)
        rounds = [first_round_on + index * step for index in range(self.clean_rounds)]
        if self.final_round_after_days > 0:
            rounds.append(rounds[-1] + timedelta(days=self.final_round_after_days))
        return tuple(rounds)


class ScreeningRules(_Rules):
    """Mass screening: pool sizes, frequencies by area status, what a positive pool sets off."""

    mode: ScreeningMode
    pool_size: PoolSize
    low_prevalence_pool_size: PoolSize
    low_prevalence_below: float = Field(gt=0.0, lt=1.0)
    low_prevalence_window_days: PositiveDays
    single_tube_in_high_risk_areas: bool
    interval_days: ScreeningIntervals
    positive_pool: PositivePoolRules
    wind_down: WindDownRules

    @field_validator("low_prevalence_pool_size")
    @classmethod
    def _not_below_the_usual_pool(cls, size: int, info: ValidationInfo) -> int:
        usual = info.data.get("pool_size")
        if usual is not None and size < usual:
            raise ValueError(
                f"must not be smaller than pool_size ({usual}): very low prevalence is when "
                f"larger pools pay (got {size})"
            )
        return size

    def pool_size_for(self, *, in_high_risk_area: bool, prevalence: float | None) -> int:
        """Swabs per tube for a person: single tubes in high-risk areas, larger pools when rare.

        `prevalence` is the share of positive persons in the district's screening over the last
        `low_prevalence_window_days` days, or None when not known (the usual pool applies).
        """
        if prevalence is not None and not 0.0 <= prevalence <= 1.0:
            raise ValueError(f"prevalence must be a share between 0 and 1 (got {prevalence})")
        if in_high_risk_area and self.single_tube_in_high_risk_areas:
            return 1
        if prevalence is not None and prevalence < self.low_prevalence_below:
            return self.low_prevalence_pool_size
        return self.pool_size


class ReferralSla(_Rules):
    """Deadlines of a referral (協查), both counted from the moment it is pushed."""

    acknowledge_within_hours: PositiveHours
    locate_and_control_within_hours: PositiveHours
    feedback_required_to_close: bool
    escalate_when_overdue: bool

    @field_validator("locate_and_control_within_hours")
    @classmethod
    def _not_before_acknowledging(cls, hours: int, info: ValidationInfo) -> int:
        acknowledge = info.data.get("acknowledge_within_hours")
        if acknowledge is not None and hours < acknowledge:
            raise ValueError(
                f"must not be shorter than acknowledge_within_hours ({acknowledge}): a person "
                f"is located after the referral is acknowledged (got {hours})"
            )
        return hours

    @property
    def acknowledge_within(self) -> timedelta:
        return timedelta(hours=self.acknowledge_within_hours)

    @property
    def locate_and_control_within(self) -> timedelta:
        return timedelta(hours=self.locate_and_control_within_hours)


class SurfaceZeroRule(_Rules):
    """Surface zero (社會面清零): a district with no surface case for N consecutive days."""

    consecutive_days: PositiveDays


class ClusterRules(_Rules):
    """When a cluster (點) stops being watched."""

    inactive_after_days: PositiveDays

    @property
    def inactive_after(self) -> timedelta:
        return timedelta(days=self.inactive_after_days)


class SerialInterval(_Rules):
    """The serial interval used to estimate Rt, and the range its sensitivity is shown over."""

    # The offset-gamma discretisation (Cori et al. 2013) needs a mean above one day.
    mean_days: float = Field(gt=1.0, le=30.0)
    sd_days: float = Field(gt=0.0, le=30.0)
    sensitivity_mean_days: tuple[float, float]

    @field_validator("sensitivity_mean_days")
    @classmethod
    def _around_the_mean(
        cls, bounds: tuple[float, float], info: ValidationInfo
    ) -> tuple[float, float]:
        low, high = bounds
        if not 1.0 < low <= high:
            raise ValueError(f"must be [low, high] with 1 < low <= high (got {list(bounds)})")
        mean = info.data.get("mean_days")
        if mean is not None and not low <= mean <= high:
            raise ValueError(f"must contain mean_days ({mean}) (got {list(bounds)})")
        return bounds


class ShiftRules(_Rules):
    """When the command centre's shifts hand over: local clock times ("HH:MM"), earliest first.

    The wall display counts what changed since the current shift began."""

    starts: tuple[str, ...] = Field(min_length=1)

    @field_validator("starts")
    @classmethod
    def _clock_times_in_order(cls, starts: tuple[str, ...]) -> tuple[str, ...]:
        times = []
        for value in starts:
            try:
                if len(value) != 5:
                    raise ValueError(value)
                times.append(time.fromisoformat(value))
            except ValueError:
                raise ValueError(f"must be clock times as HH:MM (got {value!r})") from None
        if any(later <= earlier for earlier, later in pairwise(times)):
            raise ValueError(f"must be in increasing order within one day (got {list(starts)})")
        return starts

    def start_of_shift(self, now: datetime, tz: str) -> datetime:
        """The UTC instant the shift running at `now` began (local wall-clock times in `tz`)."""
        zone = ZoneInfo(tz)
        local = now.astimezone(zone)
        times = [time.fromisoformat(v) for v in self.starts]
        today = [datetime.combine(local.date(), at, tzinfo=zone) for at in times]
        started = [start for start in today if start <= local]
        # Before the day's first handover the last shift of the day before is still running.
        start = started[-1] if started else today[-1] - timedelta(days=1)
        return start.astimezone(UTC)


class MutualAidRules(_Rules):
    """How the mutual-aid plan reads the forecast of new cases."""

    # A level strictly inside (0, 1): 0.5 is the median, which misses half the time; a tail
    # level such as 0.99 would hold beds for outbreaks that rarely come.
    demand_quantile: float = Field(gt=0.0, lt=1.0)


class Policy(_Rules):
    """One version of the whole policy: what the system does, from `effective_from` on."""

    version: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    name: str = Field(min_length=1)
    effective_from: date
    source: tuple[str, ...] = Field(min_length=1)
    risk_area: RiskAreaRules
    quarantine: QuarantineRules
    left_high_risk_area: LeftHighRiskAreaRules
    screening: ScreeningRules
    referral_sla: ReferralSla
    surface_zero: SurfaceZeroRule
    cluster: ClusterRules
    serial_interval: SerialInterval
    shift: ShiftRules
    mutual_aid: MutualAidRules

    @field_validator("source")
    @classmethod
    def _no_blank_source(cls, sources: tuple[str, ...]) -> tuple[str, ...]:
        if any(not entry.strip() for entry in sources):
            raise ValueError("every source must name a document")
        return sources
