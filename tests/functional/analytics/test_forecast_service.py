"""Forecast and scenarios from the store: calibrated on recent counts, on districts with a census
population (functional zones counted with their host), seeded, and more frequent screening never
forecasts more infections than the policy, other things equal."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from tests.factories.analytics import import_official, municipal_series_rows
from tests.factories.auth import command_user
from xietong.analytics import situation
from xietong.analytics.schemas import ForecastOptions, ScenarioSpec

NOV_13 = date(2022, 11, 13)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_forecast_covers_every_unit_with_a_population_and_ordered_bands(
    session: Session,
) -> None:
    import_official(session, municipal_series_rows())

    result = situation.forecast_districts(
        session, last_day=NOV_13, options=ForecastOptions(horizon_days=14, runs=100, seed=3)
    )

    p = result.parameters
    assert p.first_forecast_day == date(2022, 11, 14) and len(result.days) == 14
    assert p.merged == {"CQ-GX": "500106", "CQ-LJ": "500112"}
    assert "CQ-GX" not in p.units and len(p.units) == len(result.districts) == 39
    assert result.scenario.screening_interval_days == 2.0  # the policy: every other day
    assert result.scenario.lift_after_clean_days == 5
    bands = result.city_detections
    assert all(
        lo <= q1 <= mid <= q3 <= hi
        for lo, q1, mid, q3, hi in zip(
            bands.p05, bands.p25, bands.median, bands.p75, bands.p95, strict=True
        )
    )
    shapingba = next(d for d in result.districts if d.code == "500106")
    assert shapingba.growth_rate > 0.2 and shapingba.reproduction_number > 1
    # A growing outbreak keeps growing at first under the policy it grew under.
    assert bands.median[0] > 2297 * 0.8


def test_the_same_seed_gives_the_same_forecast(session: Session) -> None:
    import_official(session, municipal_series_rows())

    options = ForecastOptions(horizon_days=10, runs=50, seed=7)
    first = situation.forecast_districts(session, last_day=NOV_13, options=options)
    again = situation.forecast_districts(session, last_day=NOV_13, options=options)

    assert first == again


def test_the_deterministic_forecast_continues_the_calibrated_trend_whatever_the_seed(
    session: Session,
) -> None:
    import_official(session, municipal_series_rows())

    result = situation.forecast_districts(
        session,
        last_day=NOV_13,
        options=ForecastOptions(horizon_days=10, deterministic=True, seed=1),
    )
    other_seed = situation.forecast_districts(
        session,
        last_day=NOV_13,
        options=ForecastOptions(horizon_days=10, deterministic=True, seed=2),
    )

    assert result.parameters.runs == 1
    assert result.city_infections.p05 == result.city_infections.p95
    assert result.city_detections.median == other_seed.city_detections.median
    # Calibration makes the first day's expected detections continue the fitted growth of
    # 0.33 a day from 2,297 on 13 November (2,297 e^0.33 = 3,195).
    assert result.city_detections.median[0] == pytest.approx(2297 * np.exp(0.33), rel=0.01)


def test_the_default_scenarios_are_the_policy_changes_the_command_centre_weighs(
    session: Session,
) -> None:
    import_official(session, municipal_series_rows())

    result = situation.compare_scenarios(
        session, last_day=NOV_13, options=ForecastOptions(horizon_days=14, runs=60, seed=1)
    )

    names = [outcome.scenario.name for outcome in result.scenarios]
    assert names[0] == "baseline" and names[1] == "screening_every_day"
    assert "isolation_delay_2_days" in names and "lift_after_7_clean_days" in names
    (cut,) = [name for name in names if name.startswith("mobility_cut_")]
    cut_outcome = result.scenarios[names.index(cut)]
    assert list(cut_outcome.scenario.mobility_cut.values()) == [0.5]
    baseline = result.scenarios[0]
    assert baseline.infections_averted.median == 0.0
    daily = result.scenarios[1]
    assert daily.scenario.screening_interval_days == 1.0
    assert daily.total_infections.median < baseline.total_infections.median
    assert daily.infections_averted.median > 0
    assert set(daily.district_total_infections) == set(result.parameters.units)


@settings(
    max_examples=12,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    growth=st.floats(min_value=-0.2, max_value=0.4),
    start=st.integers(min_value=5, max_value=400),
    shares=st.lists(st.integers(min_value=0, max_value=9), min_size=4, max_size=4),
    baseline_interval=st.sampled_from([2.0, 3.0, 7.0]),
)
def test_more_frequent_screening_never_forecasts_more_infections_other_things_equal(
    session: Session, growth: float, start: int, shares: list[int], baseline_interval: float
) -> None:
    codes = ("500106", "500113", "500231", "500101")
    rows = []
    for k in range(10):
        day = (date(2022, 11, 4) + timedelta(days=k)).isoformat()
        total = start * np.exp(growth * k)
        for code, share in zip(codes, shares, strict=True):
            count = round(total * share / 10)
            rows.append(
                {"district": code, "day": day, "new_confirmed": count, "new_asymptomatic": 0}
            )
    nested = session.begin_nested()
    try:
        import_official(session, rows)
        result = situation.compare_scenarios(
            session,
            last_day=NOV_13,
            options=ForecastOptions(horizon_days=21, deterministic=True),
            scenarios=[
                ScenarioSpec(name="as_baseline", screening_interval_days=baseline_interval),
                ScenarioSpec(name="every_day", screening_interval_days=1.0),
            ],
        )
    finally:
        nested.rollback()

    _, slower, daily = result.scenarios
    assert daily.total_infections.median <= slower.total_infections.median * (1 + 1e-9) + 1e-9
    for code, infections in daily.district_total_infections.items():
        assert (
            infections.median <= slower.district_total_infections[code].median * (1 + 1e-9) + 1e-9
        )


def test_the_api_forecasts_and_compares_scenarios(app_client: TestClient, session: Session) -> None:
    import_official(session, municipal_series_rows())
    _, token = command_user(session)

    forecast = app_client.get(
        "/api/analytics/forecast",
        params={"last_day": "2022-11-13", "horizon_days": 14, "runs": 40},
        headers=auth(token),
    )
    custom = app_client.post(
        "/api/analytics/scenarios",
        json={
            "last_day": "2022-11-13",
            "horizon_days": 14,
            "runs": 40,
            "scenarios": [
                {"name": "close_shapingba", "mobility_cut": {"500106": 0.9}},
                {"name": "no_screening", "no_screening": True},
            ],
        },
        headers=auth(token),
    )
    unknown = app_client.post(
        "/api/analytics/scenarios",
        json={"last_day": "2022-11-13", "scenarios": [{"name": "x", "mobility_cut": {"9": 1}}]},
        headers=auth(token),
    )
    baseline_named = app_client.post(
        "/api/analytics/scenarios",
        json={"last_day": "2022-11-13", "scenarios": [{"name": "baseline"}]},
        headers=auth(token),
    )

    assert forecast.status_code == 200, forecast.text
    assert len(forecast.json()["city_detections"]["median"]) == 14
    assert custom.status_code == 200, custom.text
    outcomes = custom.json()["scenarios"]
    assert [o["scenario"]["name"] for o in outcomes] == [
        "baseline",
        "close_shapingba",
        "no_screening",
    ]
    assert outcomes[1]["scenario"]["mobility_cut"] == {"500106": 0.9}
    assert outcomes[2]["scenario"]["screening_interval_days"] is None
    assert outcomes[2]["total_infections"]["median"] > outcomes[0]["total_infections"]["median"]
    assert unknown.status_code == 422
    assert unknown.json()["error"]["details"][0]["field"] == "mobility_cut"
    assert baseline_named.status_code == 422
