"""What a tube's result sets off, as pure logic: the fan-out of a positive pool.

A positive pool (混管陽性): each member is held in place pending a single-tube retest (單採單檢)
in the district where the member is now, and a member who lives in another district than the
sampling district needs a cross-district referral. A positive single tube is a case candidate
(and a referral need when the person lives elsewhere). An invalid tube is resampled. A negative
tube sets off nothing: the fan-out never invents a positive for anyone outside a positive tube.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from xietong.policy.rules import PositivePoolRules


@dataclass(frozen=True)
class Member:
    person_id: int
    residence_district_id: int
    current_district_id: int


@dataclass(frozen=True)
class TubeOutcome:
    tube_id: int
    outcome: str  # "negative" | "positive" | "invalid"
    sampling_district_id: int
    members: tuple[Member, ...]

    @property
    def is_pool(self) -> bool:
        # A pooled tube that holds one swab is that person's own result.
        return len(self.members) > 1


@dataclass(frozen=True)
class Hold:
    person_id: int
    tube_id: int
    district_id: int  # where the person is now, and is held


@dataclass(frozen=True)
class Retest:
    person_id: int
    source_tube_id: int
    district_id: int  # where the person is now


@dataclass(frozen=True)
class CaseCandidate:
    person_id: int
    tube_id: int


@dataclass(frozen=True)
class ReferralNeed:
    person_id: int
    tube_id: int
    reason: str  # "pooled_positive" | "positive"
    from_district_id: int
    to_district_id: int


@dataclass
class FanOut:
    holds: list[Hold] = field(default_factory=list)
    retests: list[Retest] = field(default_factory=list)
    case_candidates: list[CaseCandidate] = field(default_factory=list)
    referral_needs: list[ReferralNeed] = field(default_factory=list)
    resample_tube_ids: list[int] = field(default_factory=list)

    def person_ids(self) -> set[int]:
        """Everyone the fan-out touches."""
        return (
            {h.person_id for h in self.holds}
            | {r.person_id for r in self.retests}
            | {c.person_id for c in self.case_candidates}
            | {n.person_id for n in self.referral_needs}
        )


def fan_out(tubes: Iterable[TubeOutcome], *, rules: PositivePoolRules) -> FanOut:
    """Holds, retests, case candidates, referral needs and resamples for newly applied results."""
    result = FanOut()
    for tube in tubes:
        if tube.outcome == "invalid":
            result.resample_tube_ids.append(tube.tube_id)
            continue
        if tube.outcome != "positive":
            continue
        reason = "pooled_positive" if tube.is_pool else "positive"
        for member in tube.members:
            if tube.is_pool:
                if rules.hold_members:
                    result.holds.append(
                        Hold(member.person_id, tube.tube_id, member.current_district_id)
                    )
                if rules.single_tube_retest:
                    result.retests.append(
                        Retest(member.person_id, tube.tube_id, member.current_district_id)
                    )
            else:
                result.case_candidates.append(CaseCandidate(member.person_id, tube.tube_id))
            if member.residence_district_id != tube.sampling_district_id:
                result.referral_needs.append(
                    ReferralNeed(
                        person_id=member.person_id,
                        tube_id=tube.tube_id,
                        reason=reason,
                        from_district_id=tube.sampling_district_id,
                        to_district_id=member.residence_district_id,
                    )
                )
    return result
