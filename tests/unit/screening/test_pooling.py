"""The fan-out of results as pure logic: a positive pool holds and retests its members where they
are now, refers those who live elsewhere, and never invents a positive for anyone else."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from xietong.policy.rules import PositivePoolRules
from xietong.screening.results.pooling import Member, TubeOutcome, fan_out

RULES = PositivePoolRules(hold_members=True, single_tube_retest=True)

districts = st.integers(min_value=1, max_value=5)
members = st.lists(
    st.builds(Member, st.integers(min_value=1, max_value=10_000), districts, districts),
    min_size=1,
    max_size=20,
    unique_by=lambda m: m.person_id,
)
tubes = st.lists(
    st.builds(
        TubeOutcome,
        st.integers(min_value=1, max_value=10**9),
        st.sampled_from(["negative", "positive", "invalid"]),
        districts,
        members.map(tuple),
    ),
    max_size=30,
    unique_by=lambda t: t.tube_id,
)


@given(tubes=tubes, hold=st.booleans(), retest=st.booleans())
def test_the_fan_out_never_invents_a_positive_for_a_member_of_a_negative_pool(
    tubes: list[TubeOutcome], hold: bool, retest: bool
) -> None:
    result = fan_out(tubes, rules=PositivePoolRules(hold_members=hold, single_tube_retest=retest))
    positive_members = {
        (m.person_id, t.tube_id) for t in tubes if t.outcome == "positive" for m in t.members
    }
    touched = (
        {(h.person_id, h.tube_id) for h in result.holds}
        | {(r.person_id, r.source_tube_id) for r in result.retests}
        | {(c.person_id, c.tube_id) for c in result.case_candidates}
        | {(n.person_id, n.tube_id) for n in result.referral_needs}
    )
    assert touched <= positive_members
    assert set(result.resample_tube_ids) == {t.tube_id for t in tubes if t.outcome == "invalid"}


@given(tubes=tubes)
def test_every_member_of_a_positive_pool_is_held_and_retested_where_it_is_now(
    tubes: list[TubeOutcome],
) -> None:
    result = fan_out(tubes, rules=RULES)
    pools = [t for t in tubes if t.outcome == "positive" and len(t.members) > 1]
    expected = {(m.person_id, t.tube_id, m.current_district_id) for t in pools for m in t.members}
    assert {(h.person_id, h.tube_id, h.district_id) for h in result.holds} == expected
    assert {(r.person_id, r.source_tube_id, r.district_id) for r in result.retests} == expected


@given(tubes=tubes)
def test_only_members_living_outside_the_sampling_district_need_a_referral(
    tubes: list[TubeOutcome],
) -> None:
    result = fan_out(tubes, rules=RULES)
    expected = {
        (m.person_id, t.tube_id, t.sampling_district_id, m.residence_district_id)
        for t in tubes
        if t.outcome == "positive"
        for m in t.members
        if m.residence_district_id != t.sampling_district_id
    }
    got = {
        (n.person_id, n.tube_id, n.from_district_id, n.to_district_id)
        for n in result.referral_needs
    }
    assert got == expected


def test_a_positive_single_tube_is_a_case_candidate_not_a_hold() -> None:
    tube = TubeOutcome(
        7, "positive", 1, (Member(42, residence_district_id=2, current_district_id=1),)
    )
    result = fan_out([tube], rules=RULES)
    assert [(c.person_id, c.tube_id) for c in result.case_candidates] == [(42, 7)]
    assert result.holds == [] and result.retests == []
    assert [(n.reason, n.to_district_id) for n in result.referral_needs] == [("positive", 2)]


def test_a_positive_pool_refers_with_the_pooled_positive_reason() -> None:
    tube = TubeOutcome(8, "positive", 1, (Member(1, 1, 1), Member(2, 3, 4)))
    result = fan_out([tube], rules=RULES)
    assert [
        (n.person_id, n.reason, n.from_district_id, n.to_district_id) for n in result.referral_needs
    ] == [(2, "pooled_positive", 1, 3)]
    assert result.case_candidates == []


def test_the_policy_may_switch_off_holds_and_retests() -> None:
    tube = TubeOutcome(9, "positive", 1, (Member(1, 1, 1), Member(2, 1, 1)))
    result = fan_out([tube], rules=PositivePoolRules(hold_members=False, single_tube_retest=False))
    assert result.holds == [] and result.retests == [] and result.referral_needs == []
