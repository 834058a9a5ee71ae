"""The plan of a day as pure logic: the every-other-day split, high-risk daily single tubes,
other districts per policy, pool sizes from the policy."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from xietong.policy.loader import default_policy
from xietong.policy.rules import Policy
from xietong.screening.plans.rules import BuildingToPlan, PlanEntry, due_on, plan_day, tubes_needed

DAY = date(2022, 11, 15)
codes = st.text(alphabet="0123456789ABCDEFGHS-", min_size=1, max_size=24)


def policy(**changes: object) -> Policy:
    base = default_policy()
    screening = base.screening.model_copy(update=changes)
    return base.model_copy(update={"screening": screening})


def central(i: int, code: str | None = None, persons: int = 50) -> BuildingToPlan:
    return BuildingToPlan(i, code or f"500106-S001-C01-B{i:04d}", 6, True, persons)


def outer(i: int, persons: int = 50) -> BuildingToPlan:
    return BuildingToPlan(i, f"500241-S001-C01-B{i:04d}", 30, False, persons)


@given(code=codes, start=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 1, 1)))
def test_each_central_building_is_planned_exactly_once_in_any_two_consecutive_days(
    code: str, start: date
) -> None:
    rules = policy().screening
    building = central(1, code)
    days = [start, start + timedelta(days=1)]
    planned = [
        plan_day(day=d, buildings=[building], high_risk_building_ids=(), rules=rules) for d in days
    ]
    assert sum(len(p) for p in planned) == 1


@given(
    code=codes,
    every=st.integers(min_value=1, max_value=7),
    start=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 1, 1)),
)
def test_a_building_due_every_n_days_is_due_once_in_any_n_consecutive_days(
    code: str, every: int, start: date
) -> None:
    due = [due_on(code, start + timedelta(days=k), every) for k in range(every)]
    assert due.count(True) == 1


def test_about_half_the_central_buildings_test_on_each_day() -> None:
    rules = policy().screening
    buildings = [central(i) for i in range(2000)]
    today = plan_day(day=DAY, buildings=buildings, high_risk_building_ids=(), rules=rules)
    tomorrow = plan_day(
        day=DAY + timedelta(days=1), buildings=buildings, high_risk_building_ids=(), rules=rules
    )
    assert 900 < len(today) < 1100
    assert {e.building_id for e in today} | {e.building_id for e in tomorrow} == set(range(2000))
    assert not {e.building_id for e in today} & {e.building_id for e in tomorrow}


def test_high_risk_buildings_test_every_day_by_single_tube() -> None:
    rules = policy().screening
    buildings = [central(i) for i in range(20)] + [outer(100)]
    for k in range(4):
        entries = plan_day(
            day=DAY + timedelta(days=k),
            buildings=buildings,
            high_risk_building_ids={3, 100},
            rules=rules,
        )
        locked = {e.building_id: e for e in entries if e.status == "high_risk_area"}
        assert set(locked) == {3, 100}
        assert all(e.pool_size == 1 and e.every_days == 1 for e in locked.values())
        assert "daily, single tube" in locked[3].reason


def test_other_districts_do_not_test_when_the_policy_says_none() -> None:
    entries = plan_day(
        day=DAY,
        buildings=[outer(i) for i in range(50)],
        high_risk_building_ids=(),
        rules=policy().screening,
    )
    assert entries == []


def test_other_districts_follow_their_interval_when_the_policy_gives_one() -> None:
    intervals = policy().screening.interval_days.model_copy(update={"other_districts": 3})
    rules = policy(interval_days=intervals).screening
    buildings = [outer(i) for i in range(30)]
    days = [
        plan_day(
            day=DAY + timedelta(days=k), buildings=buildings, high_risk_building_ids=(), rules=rules
        )
        for k in range(3)
    ]
    assert sorted(e.building_id for d in days for e in d) == list(range(30))
    assert all(e.status == "other_districts" and e.pool_size == 10 for d in days for e in d)


def test_pools_of_twenty_where_prevalence_is_very_low_and_of_ten_otherwise() -> None:
    rules = policy().screening
    buildings = [central(i) for i in range(40)] + [BuildingToPlan(99, "X-1", 7, True, 10)]
    entries = plan_day(
        day=DAY,
        buildings=buildings,
        high_risk_building_ids=(),
        rules=rules,
        prevalence={6: 0.0001, 7: 0.01},
    )
    sizes = {e.district_id: e.pool_size for e in entries}
    assert sizes.get(6) == 20
    assert all(e.pool_size == 10 for e in entries if e.district_id != 6)


def test_wind_down_tests_affected_districts_on_their_rounds_then_stops() -> None:
    rules = policy(mode="wind_down").screening
    buildings = [central(i) for i in range(5)] + [outer(50)]
    first = DAY
    planned_days = [
        DAY + timedelta(days=k)
        for k in range(10)
        if plan_day(
            day=DAY + timedelta(days=k),
            buildings=buildings,
            high_risk_building_ids=(),
            rules=rules,
            wind_down_first_rounds={6: first},
        )
    ]
    # 3 daily rounds, one more 3 days after the last, then nothing; district 30 is unaffected.
    assert planned_days == [
        DAY,
        DAY + timedelta(days=1),
        DAY + timedelta(days=2),
        DAY + timedelta(days=5),
    ]
    entries = plan_day(
        day=DAY,
        buildings=buildings,
        high_risk_building_ids={50},
        rules=rules,
        wind_down_first_rounds={6: first},
    )
    assert {e.status for e in entries} == {"wind_down", "high_risk_area"}


def test_tubes_needed_fill_pools_across_buildings_of_a_district() -> None:
    entries = [
        PlanEntry(1, 6, "central_urban_area", 2, 10, 15),
        PlanEntry(2, 6, "central_urban_area", 2, 10, 15),
        PlanEntry(3, 6, "high_risk_area", 1, 1, 7),
        PlanEntry(4, 30, "other_districts", 2, 20, 1),
    ]
    assert tubes_needed(entries) == {6: 3 + 7, 30: 1}


buildings_to_plan = st.lists(
    st.builds(
        BuildingToPlan,
        id=st.integers(min_value=1, max_value=10_000),
        code=codes,
        district_id=st.sampled_from([6, 7, 30]),
        central_urban=st.booleans(),
        persons=st.integers(min_value=0, max_value=300),
    ),
    max_size=40,
    unique_by=lambda b: b.id,
)


@given(
    buildings=buildings_to_plan,
    high_risk=st.sets(st.integers(min_value=1, max_value=10_000), max_size=20),
    prevalence=st.dictionaries(
        st.sampled_from([6, 7, 30]), st.one_of(st.none(), st.floats(0.0, 0.01))
    ),
    on=st.dates(min_value=date(2022, 11, 1), max_value=date(2022, 12, 31)),
    winding_down=st.booleans(),
)
def test_the_plan_of_many_buildings_is_each_buildings_own_plan(
    buildings: list[BuildingToPlan],
    high_risk: set[int],
    prevalence: dict[int, float | None],
    on: date,
    winding_down: bool,
) -> None:
    """A building's entry depends on itself, its district and the day only: planning a district's
    thousands at once gives what planning each alone gives, in their order."""
    rules = (
        policy(mode="wind_down", wind_down=policy().screening.wind_down)
        if winding_down
        else policy()
    ).screening
    first_rounds = {6: on - timedelta(days=2), 30: on}
    high = high_risk | {b.id for b in buildings[::3]}

    def plan(some: list[BuildingToPlan]) -> list[PlanEntry]:
        return plan_day(
            day=on,
            buildings=some,
            high_risk_building_ids=high,
            rules=rules,
            prevalence=prevalence,
            wind_down_first_rounds=first_rounds,
        )

    assert plan(buildings) == [entry for b in buildings for entry in plan([b])]
