"""The policy file: the default holds DESIGN.md's numbers; a bad file names every fault at once."""

from __future__ import annotations

import tomllib
from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from xietong.policy.loader import (
    PolicyError,
    bundled_policy,
    bundled_policy_names,
    default_policy,
    load_policy,
    load_policy_text,
    override_policy,
)
from xietong.policy.rules import Policy

WIND_DOWN = "wind_down_2022-11-21"


def default_text() -> str:
    return resources.files("xietong.policy").joinpath("default.toml").read_text(encoding="utf-8")


def edited(old: str, new: str) -> str:
    """The default file with one line changed (the old text must be there exactly once)."""
    text = default_text()
    assert text.count(old) == 1, old
    return text.replace(old, new)


def line_of(text: str, fragment: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if fragment in line)


def problems_of(text: str) -> PolicyError:
    with pytest.raises(PolicyError) as caught:
        load_policy_text(text, source="policy.toml")
    return caught.value


def flattened(policy: Policy) -> dict[str, Any]:
    def walk(prefix: str, value: Any) -> dict[str, Any]:
        if isinstance(value, dict):
            found: dict[str, Any] = {}
            for key, inner in value.items():
                found |= walk(f"{prefix}.{key}" if prefix else key, inner)
            return found
        return {prefix: value}

    return walk("", policy.model_dump())


# --- the default ---------------------------------------------------------------------------


def test_the_default_is_the_twenty_measures_of_11_november_2022() -> None:
    policy = default_policy()
    assert policy.version == "2022-11-11"
    assert policy.effective_from == date(2022, 11, 11)
    assert policy.name
    cited = " ".join(policy.source)
    assert "二十条" in cited  # the twenty measures
    assert "重庆日报" in cited  # the source article


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("risk_area.levels", ("high", "low")),
        ("risk_area.high_risk_area_unit", "building"),
        ("risk_area.lift_after_clean_days", 5),
        ("risk_area.lifting_requires_negative_screening", True),
        ("quarantine.centralised_quarantine_days", 5),
        ("quarantine.home_isolation_days", 3),
        ("quarantine.centralised_quarantine_test_days", (1, 2, 3, 5)),
        ("quarantine.home_isolation_test_days", (1, 3)),
        ("quarantine.trace_secondary_contacts", False),
        ("left_high_risk_area.home_isolation_days", 7),
        ("left_high_risk_area.test_days", (1, 3, 5, 7)),
        ("left_high_risk_area.refer_when_in_other_district", True),
        ("screening.mode", "by_area_status"),
        ("screening.pool_size", 10),
        ("screening.low_prevalence_pool_size", 20),
        ("screening.single_tube_in_high_risk_areas", True),
        ("screening.interval_days.high_risk_area", 1),
        ("screening.interval_days.central_urban_area", 2),
        ("screening.positive_pool.hold_members", True),
        ("screening.positive_pool.single_tube_retest", True),
        ("screening.wind_down.affected_district_every_days", 1),
        ("screening.wind_down.clean_rounds", 3),
        ("screening.wind_down.final_round_after_days", 3),
        ("referral_sla.acknowledge_within_hours", 1),
        ("referral_sla.locate_and_control_within_hours", 4),
        ("referral_sla.feedback_required_to_close", True),
        ("referral_sla.escalate_when_overdue", True),
        ("surface_zero.consecutive_days", 3),
        ("cluster.inactive_after_days", 14),
        ("serial_interval.mean_days", 3.0),
        ("serial_interval.sd_days", 1.5),
        ("serial_interval.sensitivity_mean_days", (2.0, 4.0)),
    ],
)
def test_the_default_holds_the_numbers_of_the_design(key: str, expected: object) -> None:
    assert flattened(default_policy())[key] == expected


def test_close_contacts_spend_8_days_and_are_tested_6_times() -> None:
    quarantine = default_policy().quarantine
    assert quarantine.total_days == 8
    assert quarantine.centralised_quarantine == timedelta(days=5)
    assert quarantine.home_isolation == timedelta(days=3)
    # Days 1 and 3 at home are days 6 and 8 from the start of quarantine.
    assert quarantine.test_days_from_start == (1, 2, 3, 5, 6, 8)


def test_the_referral_deadlines_are_1_hour_and_4_hours() -> None:
    sla = default_policy().referral_sla
    assert sla.acknowledge_within == timedelta(hours=1)
    assert sla.locate_and_control_within == timedelta(hours=4)


def test_outside_the_central_urban_area_there_is_no_routine_mass_screening() -> None:
    intervals = default_policy().screening.interval_days
    assert intervals.every_days("high_risk_area") == 1
    assert intervals.every_days("central_urban_area") == 2
    assert intervals.every_days("other_districts") is None


def test_high_risk_areas_test_single_tubes_and_pools_of_20_need_very_low_prevalence() -> None:
    screening = default_policy().screening
    assert screening.pool_size_for(in_high_risk_area=True, prevalence=0.0) == 1
    assert screening.pool_size_for(in_high_risk_area=False, prevalence=None) == 10
    assert screening.pool_size_for(in_high_risk_area=False, prevalence=0.0005) == 20
    assert screening.pool_size_for(in_high_risk_area=False, prevalence=0.001) == 10
    with pytest.raises(ValueError, match="prevalence"):
        screening.pool_size_for(in_high_risk_area=False, prevalence=1.5)


def test_a_lifting_is_first_proposed_on_the_fifth_clean_day() -> None:
    rules = default_policy().risk_area
    assert rules.earliest_lifting_day(date(2022, 11, 14)) == date(2022, 11, 19)


def test_every_rule_line_of_the_default_says_where_its_number_comes_from() -> None:
    uncited = [
        line
        for line in default_text().splitlines()
        if "=" in line.split("#", 1)[0] and "#" not in line and not line.startswith("  ")
    ]
    assert uncited == []


def test_a_policy_cannot_be_changed_in_place() -> None:
    policy = default_policy()
    with pytest.raises(ValidationError):
        policy.screening.pool_size = 20  # type: ignore[misc]


def test_a_policy_survives_a_round_trip_through_json() -> None:
    policy = default_policy()
    assert Policy.model_validate_json(policy.model_dump_json()) == policy


# --- the alternative -----------------------------------------------------------------------


def test_the_winding_down_alternative_is_packaged_and_loads() -> None:
    assert bundled_policy_names() == ("default", WIND_DOWN)
    alternative = bundled_policy(WIND_DOWN)
    assert alternative.screening.mode == "wind_down"
    assert alternative.effective_from == date(2022, 11, 21)
    assert alternative.version != default_policy().version


def test_the_alternative_differs_from_the_default_only_by_its_screening_mode() -> None:
    default = flattened(default_policy())
    alternative = flattened(bundled_policy(WIND_DOWN))
    changed = {key for key in default if default[key] != alternative[key]}
    assert changed == {"version", "name", "effective_from", "source", "screening.mode"}


def test_winding_down_tests_daily_three_times_then_once_more_three_days_later() -> None:
    rounds = bundled_policy(WIND_DOWN).screening.wind_down.shortest_rounds(date(2022, 11, 22))
    assert rounds == (
        date(2022, 11, 22),
        date(2022, 11, 23),
        date(2022, 11, 24),
        date(2022, 11, 27),
    )


def test_an_unknown_packaged_policy_is_refused_with_a_suggestion() -> None:
    with pytest.raises(ValueError, match="did you mean 'wind_down_2022-11-21'"):
        bundled_policy("wind_down_2022-11-12")


# --- validation: each kind of problem ------------------------------------------------------


def test_a_misspelt_key_is_unknown_and_the_right_one_is_suggested() -> None:
    text = edited("lift_after_clean_days = 5", "lift_after_clen_days = 5")
    error = problems_of(text)
    line = line_of(text, "lift_after_clen_days")
    assert str(error) == (
        f"policy.toml:{line} risk_area.lift_after_clen_days: "
        "unknown key (did you mean 'lift_after_clean_days'?)"
    )
    assert [problem.kind for problem in error.problems] == ["unknown_key"]


def test_a_misspelt_table_is_unknown_and_the_right_one_is_suggested() -> None:
    text = edited("[referral_sla]", "[referal_sla]")
    error = problems_of(text)
    assert str(error) == (
        f"policy.toml:{line_of(text, '[referal_sla]')} referal_sla: "
        "unknown key (did you mean 'referral_sla'?)"
    )


def test_a_missing_key_is_reported_at_its_table() -> None:
    text = edited("consecutive_days = 3", "")
    error = problems_of(text)
    assert str(error) == (
        f"policy.toml:{line_of(text, '[surface_zero]')} surface_zero.consecutive_days: missing key"
    )


@pytest.mark.parametrize(
    ("old", "new", "key", "expected"),
    [
        ("pool_size = 10", 'pool_size = "10"', "screening.pool_size", "an integer"),
        (
            "acknowledge_within_hours = 1",
            "acknowledge_within_hours = 1.5",
            "referral_sla.acknowledge_within_hours",
            "an integer",
        ),
        ("sd_days = 1.5", "sd_days = true", "serial_interval.sd_days", "a number"),
        (
            "trace_secondary_contacts = false",
            "trace_secondary_contacts = 0",
            "quarantine.trace_secondary_contacts",
            "true or false",
        ),
        (
            "effective_from = 2022-11-11",
            'effective_from = "2022-11-11"',
            "effective_from",
            "a date written bare",
        ),
        ("test_days = [1, 3, 5, 7]", "test_days = 7", "left_high_risk_area.test_days", "an array"),
        (
            'other_districts = "none"',
            'other_districts = "weekly"',
            "screening.interval_days.other_districts",
            "a whole number of days or 'none'",
        ),
    ],
)
def test_a_value_of_the_wrong_type_names_the_expected_type(
    old: str, new: str, key: str, expected: str
) -> None:
    text = edited(old, new)
    (problem,) = problems_of(text).problems
    assert problem.kind == "wrong_type"
    assert problem.path == key
    assert problem.reason.startswith(f"expected {expected}")
    assert problem.line == line_of(text, new)


@pytest.mark.parametrize(
    ("old", "new", "key", "reason"),
    [
        ("pool_size = 10", "pool_size = 30", "screening.pool_size", "must be between 1 and 20"),
        ("pool_size = 10", "pool_size = 0", "screening.pool_size", "must be between 1 and 20"),
        (
            "low_prevalence_pool_size = 20",
            "low_prevalence_pool_size = 5",
            "screening.low_prevalence_pool_size",
            "must not be smaller than pool_size",
        ),
        (
            "centralised_quarantine_days = 5",
            "centralised_quarantine_days = -5",
            "quarantine.centralised_quarantine_days",
            "must be at least 0",
        ),
        (
            "lift_after_clean_days = 5",
            "lift_after_clean_days = 0",
            "risk_area.lift_after_clean_days",
            "must be at least 1",
        ),
        (
            "test_days = [1, 3, 5, 7]",
            "test_days = [1, 3, 5, 9]",
            "left_high_risk_area.test_days",
            "test days [9] fall outside the 7 days of home isolation",
        ),
        (
            "home_isolation_test_days = [1, 3]",
            "home_isolation_test_days = [3, 1]",
            "quarantine.home_isolation_test_days",
            "distinct and in increasing order",
        ),
        (
            "home_isolation_test_days = [1, 3]",
            "home_isolation_test_days = [0, 3]",
            "quarantine.home_isolation_test_days[0]",
            "must be at least 1",
        ),
        (
            'high_risk_area_unit = "building"',
            'high_risk_area_unit = "community"',
            "risk_area.high_risk_area_unit",
            "never a whole community",
        ),
        (
            'levels = ["high", "low"]',
            'levels = ["high", "medium"]',
            "risk_area.levels",
            "must include 'high' and 'low'",
        ),
        (
            'mode = "by_area_status"',
            'mode = "wind-down"',
            "screening.mode",
            "(did you mean 'wind_down'?)",
        ),
        (
            "central_urban_area = 2",
            "central_urban_area = 0",
            "screening.interval_days.central_urban_area",
            "must be at least 1",
        ),
        (
            "low_prevalence_below = 0.001",
            "low_prevalence_below = 1.5",
            "screening.low_prevalence_below",
            "must be greater than 0.0 and less than 1.0",
        ),
        (
            "sensitivity_mean_days = [2.0, 4.0]",
            "sensitivity_mean_days = [3.5, 4.0]",
            "serial_interval.sensitivity_mean_days",
            "must contain mean_days (3.0)",
        ),
        ('version = "2022-11-11"', 'version = "11 Nov"', "version", "letters, digits"),
    ],
)
def test_an_impossible_value_is_refused_with_the_reason(
    old: str, new: str, key: str, reason: str
) -> None:
    text = edited(old, new)
    (problem,) = problems_of(text).problems
    assert problem.kind == "invalid_value"
    assert problem.path == key
    assert reason in problem.reason
    assert problem.line == line_of(text, new)


def test_a_person_cannot_be_due_located_before_the_referral_is_due_acknowledged() -> None:
    text = edited("acknowledge_within_hours = 1", "acknowledge_within_hours = 6")
    (problem,) = problems_of(text).problems
    assert problem.path == "referral_sla.locate_and_control_within_hours"
    assert problem.reason.startswith("must not be shorter than acknowledge_within_hours (6)")
    assert problem.line == line_of(text, "locate_and_control_within_hours = 4")


def test_the_impossible_value_is_echoed_back() -> None:
    (problem,) = problems_of(edited("pool_size = 10", "pool_size = 30")).problems
    assert problem.reason == "must be between 1 and 20 (got integer 30)"


def test_every_problem_is_reported_at_once_in_the_order_of_the_file() -> None:
    text = default_text()
    for old, new in [
        ("lift_after_clean_days = 5", "lift_after_clen_days = 5"),
        ("home_isolation_days = 3 ", 'home_isolation_days = "3" '),
        ("pool_size = 10", "pool_size = 30"),
        ("locate_and_control_within_hours = 4", "locate_and_control_within_hours = 0"),
    ]:
        text = text.replace(old, new, 1)
    error = problems_of(text)
    quoted_days = 'home_isolation_days = "3"'
    assert str(error).splitlines() == [
        "policy.toml: 4 problems in the policy",
        f"  policy.toml:{line_of(text, 'lift_after_clen_days')} risk_area.lift_after_clen_days: "
        "unknown key (did you mean 'lift_after_clean_days'?)",
        f"  policy.toml:{line_of(text, quoted_days)} "
        "quarantine.home_isolation_days: expected an integer (got string '3')",
        f"  policy.toml:{line_of(text, 'pool_size = 30')} screening.pool_size: "
        "must be between 1 and 20 (got integer 30)",
        f"  policy.toml:{line_of(text, 'locate_and_control_within_hours')} "
        "referral_sla.locate_and_control_within_hours: must be at least 1 (got integer 0)",
    ]
    assert [row["kind"] for row in error.as_dicts()] == [
        "unknown_key",
        "wrong_type",
        "invalid_value",
        "invalid_value",
    ]


def test_a_file_that_is_not_toml_is_refused_with_its_line() -> None:
    text = edited("pool_size = 10", "pool_size = = 10")
    (problem,) = problems_of(text).problems
    assert problem.kind == "syntax"
    assert problem.line == line_of(text, "pool_size = = 10")


def test_an_empty_file_lists_every_missing_table() -> None:
    error = problems_of("")
    missing = {problem.path for problem in error.problems}
    assert {"version", "effective_from", "risk_area", "screening", "referral_sla"} <= missing
    assert "  policy.toml: risk_area: missing table" in str(error).splitlines()


def test_a_file_on_disk_is_named_in_its_errors(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(edited("pool_size = 10", "pool_size = 30"), encoding="utf-8")
    with pytest.raises(PolicyError, match=r"policy\.toml:\d+ screening\.pool_size"):
        load_policy(path)


def test_a_policy_error_is_a_value_error() -> None:
    assert issubclass(PolicyError, ValueError)


@given(st.integers(min_value=-1000, max_value=1000))
def test_a_pool_holds_between_1_and_20_swabs(size: int) -> None:
    changed = override_policy(default_policy(), {"screening.low_prevalence_pool_size": 20})
    if 1 <= size <= 20:
        assert override_policy(changed, {"screening.pool_size": size}).screening.pool_size == size
    else:
        with pytest.raises(PolicyError, match="must be between 1 and 20"):
            override_policy(changed, {"screening.pool_size": size})


# --- changing the policy -------------------------------------------------------------------


def test_changing_one_number_in_a_copy_of_the_default_changes_only_that_number(
    tmp_path: Path,
) -> None:
    path = tmp_path / "chongqing-2022-11-20.toml"
    text = default_text()
    for old, new in [
        ('version = "2022-11-11"', 'version = "2022-11-20"'),
        ("effective_from = 2022-11-11", "effective_from = 2022-11-20"),
        ("lift_after_clean_days = 5", "lift_after_clean_days = 3"),
    ]:
        text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    before, after = flattened(default_policy()), flattened(load_policy(path))
    changed = {key: after[key] for key in before if before[key] != after[key]}
    assert changed == {
        "version": "2022-11-20",
        "effective_from": date(2022, 11, 20),
        "risk_area.lift_after_clean_days": 3,
    }


def test_overriding_one_number_leaves_the_rest_and_the_original_untouched() -> None:
    original = default_policy()
    changed = override_policy(original, {"referral_sla.locate_and_control_within_hours": 2})
    before, after = flattened(original), flattened(changed)
    assert {key for key in before if before[key] != after[key]} == {
        "referral_sla.locate_and_control_within_hours"
    }
    assert original.referral_sla.locate_and_control_within_hours == 4


def test_an_override_is_validated_as_a_file_is() -> None:
    with pytest.raises(PolicyError) as caught:
        override_policy(
            default_policy(), {"screenin.pool_size": 20, "cluster.inactive_after_days": -1}
        )
    assert [problem.path for problem in caught.value.problems] == [
        "cluster.inactive_after_days",
        "screenin",
    ]
    assert "did you mean 'screening'?" in str(caught.value)


def test_the_packaged_files_are_plain_toml() -> None:
    for name in ("default.toml", f"alternatives/{WIND_DOWN}.toml"):
        data = tomllib.loads(
            resources.files("xietong.policy").joinpath(name).read_text(encoding="utf-8")
        )
        assert data["version"]
