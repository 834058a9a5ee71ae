"""Phases of the outbreak: the reference scenario, decline, plateau and surface zero."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from xietong.analytics.core.distributions import omicron_serial_interval
from xietong.analytics.core.phase import (
    Phase,
    classify_phase,
    days_without_surface_case,
    situation_phases,
)


def reference_municipality_series() -> tuple[list[dt.date], np.ndarray]:
    """New infections in the municipality, 1 to 13 November 2022, as a smooth exponential.

    The source article: more than 8,000 new infections since 1 November, "over 1,000 a day on
    11 November", 2,297 on 13 November. Growth of 0.33 a day through 2,297 on 13 November
    satisfies all three (1,187 on 11 November, 8,061 in all).
    """
    dates = [dt.date(2022, 11, day) for day in range(1, 14)]
    days_before_13th = np.array([(dates[-1] - date).days for date in dates])
    return dates, np.round(2_297 * np.exp(-0.33 * days_before_13th))


def test_the_reference_series_matches_the_source_article() -> None:
    dates, incidence = reference_municipality_series()

    assert incidence[dates.index(dt.date(2022, 11, 13))] == 2_297
    assert incidence[dates.index(dt.date(2022, 11, 11))] > 1_000
    assert incidence.sum() > 8_000


def test_the_reference_scenario_is_rapid_growth() -> None:
    _, incidence = reference_municipality_series()

    situation = situation_phases(
        cases=incidence[np.newaxis, :],
        surface_cases=incidence[np.newaxis, :],
        serial_interval=omicron_serial_interval(),
    )

    assert situation.city_phase is Phase.RAPID_GROWTH
    assert situation.district_phase.tolist() == ["rapid_growth"]
    assert situation.city_growth.doubling_time[0, -1] == pytest.approx(2.1, abs=0.1)
    assert situation.city_rt.lower[0, -1] > 1


def test_a_declining_series_is_decline() -> None:
    incidence = np.round(3_000 * np.exp(-0.12 * np.arange(21)))
    surface = np.ones(21)  # surface cases every day: not surface zero

    situation = situation_phases(
        cases=incidence[np.newaxis, :],
        surface_cases=surface[np.newaxis, :],
        serial_interval=omicron_serial_interval(),
    )

    assert situation.city_phase is Phase.DECLINE


def test_a_flat_series_is_plateau() -> None:
    incidence = np.full((1, 21), 500.0)

    situation = situation_phases(
        cases=incidence, surface_cases=incidence, serial_interval=omicron_serial_interval()
    )

    assert situation.city_phase is Phase.PLATEAU


def test_slow_but_certain_growth_is_growth_not_rapid_growth() -> None:
    incidence = np.round(500 * np.exp(0.05 * np.arange(21)))  # doubling in 14 days

    situation = situation_phases(
        cases=incidence[np.newaxis, :],
        surface_cases=incidence[np.newaxis, :],
        serial_interval=omicron_serial_interval(),
    )

    assert situation.city_phase is Phase.GROWTH


def test_three_days_without_a_surface_case_is_surface_zero() -> None:
    incidence = np.round(800 * np.exp(0.2 * np.arange(21)))
    surface = np.ones(21)
    surface[-3:] = 0

    situation = situation_phases(
        cases=incidence[np.newaxis, :],
        surface_cases=surface[np.newaxis, :],
        serial_interval=omicron_serial_interval(),
    )

    assert situation.city_days_without_surface_case == 3
    assert situation.city_phase is Phase.SURFACE_ZERO


def test_the_surface_zero_window_is_an_argument() -> None:
    incidence = np.full((1, 21), 100.0)
    surface = np.ones((1, 21))
    surface[0, -3:] = 0

    situation = situation_phases(
        cases=incidence,
        surface_cases=surface,
        serial_interval=omicron_serial_interval(),
        surface_zero_days=5,
    )

    assert situation.city_phase is Phase.PLATEAU


def test_districts_and_city_are_classified_together() -> None:
    days = np.arange(21)
    cases = np.vstack(
        [
            np.round(50 * np.exp(0.3 * days)),  # rapid growth
            np.round(4_000 * np.exp(-0.15 * days)),  # decline
            np.full(21, 300.0),  # plateau
            np.full(21, 20.0),  # all found under control lately
        ]
    )
    surface = np.ones_like(cases)
    surface[3, -4:] = 0

    situation = situation_phases(
        cases=cases, surface_cases=surface, serial_interval=omicron_serial_interval()
    )

    expected = ["rapid_growth", "decline", "plateau", "surface_zero"]
    assert situation.district_phase.tolist() == expected
    assert situation.district_days_without_surface_case.tolist() == [0, 0, 0, 4]
    assert situation.city_days_without_surface_case == 0
    assert situation.city_phase is Phase.RAPID_GROWTH


def test_days_without_surface_case_counts_the_trailing_run() -> None:
    surface = np.array([[1, 0, 2, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 3]])

    assert days_without_surface_case(surface).tolist() == [2, 5, 0]


def test_growth_wins_when_the_rate_and_rt_disagree() -> None:
    phase = classify_phase(
        growth_rate=0.02,
        growth_rate_lower=0.01,
        growth_rate_upper=0.03,
        rt_lower=0.8,
        rt_upper=0.95,
        days_without_surface_case=0,
    )

    assert phase.tolist() == "growth"


def test_rt_alone_can_establish_growth_or_decline() -> None:
    common = {
        "growth_rate": 0.0,
        "growth_rate_lower": -0.05,
        "growth_rate_upper": 0.05,
        "days_without_surface_case": [0, 0, 0],
    }

    phase = classify_phase(rt_lower=[1.1, 0.7, np.nan], rt_upper=[1.4, 0.9, np.nan], **common)

    assert phase.tolist() == ["growth", "decline", "plateau"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"surface_zero_days": 0}, "surface_zero_days"),
        ({"rapid_doubling_days": -1.0}, "rapid_doubling_days"),
        ({"days_without_surface_case": -1}, "days_without_surface_case"),
    ],
)
def test_bad_rules_are_refused_naming_them(kwargs, message) -> None:
    arguments = {
        "growth_rate": 0.1,
        "growth_rate_lower": 0.05,
        "growth_rate_upper": 0.15,
        "rt_lower": 1.1,
        "rt_upper": 1.3,
        "days_without_surface_case": 0,
    }
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        classify_phase(**arguments)
