"""Trend from the store: the municipality's published rise (over 1,000 a day on 11 November to
2,297 on 13 November) reads as rapid growth through the service and the API; surface zero needs
evidence; the series come from official counts or from the aggregates."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.analytics import (
    Fact,
    MemoryDomain,
    import_official,
    municipal_series,
    municipal_series_rows,
)
from tests.factories.auth import district_user, make_user
from xietong.analytics import service, situation
from xietong.analytics.core.phase import Phase
from xietong.areas import service as areas_service
from xietong.core.errors import NotFound, ValidationFailed
from xietong.core.principal import Role

NOV_13 = date(2022, 11, 13)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_municipalitys_published_rise_is_rapid_growth(session: Session) -> None:
    import_official(session, municipal_series_rows())

    result = situation.trend(session, last_day=NOV_13, days=13)

    city = result.city
    assert city.phase is Phase.RAPID_GROWTH
    assert result.parameters.source == "official"
    assert (city.code, city.name, city.cases_last_day) == ("500000", "重庆市", 2297)
    assert city.series[10].day == date(2022, 11, 11) and city.series[10].cases > 1000
    assert sum(point.cases for point in city.series) == sum(n for _, n in municipal_series())
    assert city.growth_rate == pytest.approx(0.33, abs=0.01)
    assert city.growth_rate_lower > 0
    assert city.doubling_time_days == pytest.approx(math.log(2) / 0.33, rel=0.05)
    assert city.rt_lower is not None and city.rt_lower > 1
    assert city.days_without_surface_case == 0


def test_the_trend_api_reads_the_same_phase_for_any_signed_in_role(
    app_client: TestClient, session: Session
) -> None:
    import_official(session, municipal_series_rows())
    _, viewer = make_user(session, role=Role.viewer)

    response = app_client.get(
        "/api/analytics/trend",
        params={"last_day": "2022-11-13", "days": 13},
        headers=auth(viewer),
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["city"]["phase"] == "rapid_growth"
    assert body["parameters"]["serial_interval_mean_days"] == 3.0
    assert body["parameters"]["surface_zero_days"] == 3
    assert len(body["districts"]) == len(areas_service.list_districts(session))
    shapingba = next(d for d in body["districts"] if d["code"] == "500106")
    assert shapingba["cases_last_day"] > 0
    # Rt before its first complete window is not a number: null in JSON.
    assert shapingba["series"][0]["rt_mean"] is None


def test_a_district_with_cases_only_under_control_for_three_days_is_surface_zero(
    session: Session,
) -> None:
    rows = []
    for k in range(14):
        day = (date(2022, 11, 1) + timedelta(days=k)).isoformat()
        surface = 2 if k < 11 else 0
        rows.append(
            {
                "district": "500106",
                "day": day,
                "new_confirmed": 10,
                "new_asymptomatic": 0,
                "found_under_control": 10 - surface,
                "found_on_surface": surface,
            }
        )
        # Another district with cases whose place of finding was not published.
        rows.append({"district": "500113", "day": day, "new_confirmed": 3, "new_asymptomatic": 0})

    import_official(session, rows)

    result = situation.trend(session, last_day=date(2022, 11, 14), days=14)

    by_code = {unit.code: unit for unit in result.districts}
    assert by_code["500106"].phase is Phase.SURFACE_ZERO
    assert by_code["500106"].days_without_surface_case == 3
    # Unknown split: counted as surface, so surface zero is not claimed without evidence.
    assert by_code["500113"].days_without_surface_case == 0
    assert by_code["500113"].phase is not Phase.SURFACE_ZERO
    # A district without any case for the whole period is surface zero.
    assert by_code["500103"].phase is Phase.SURFACE_ZERO


def test_the_trend_reads_the_aggregates_when_no_official_count_exists(session: Session) -> None:
    cases = MemoryDomain("cases")
    district = areas_service.district_id_by_code(session)["500106"]
    for k in range(14):
        day = date(2022, 11, 1) + timedelta(days=k)
        arrives = datetime(2022, 11, 1, 12, tzinfo=UTC) + timedelta(days=k)
        cases.ingest(Fact(f"c{k}", district, day, "new_confirmed", 20, arrives))
        cases.ingest(Fact(f"s{k}", district, day, "found_on_surface", 5, arrives))
        cases.ingest(Fact(f"u{k}", district, day, "found_under_control", 15, arrives))
    service.refresh_aggregates(
        session, now=datetime(2022, 11, 15, 1, tzinfo=UTC), providers=[cases.provider()]
    )

    result = situation.trend(session, last_day=date(2022, 11, 14), days=14)

    assert result.parameters.source == "aggregates"
    shapingba = next(unit for unit in result.districts if unit.code == "500106")
    # A flat series: no growth, and Rt's interval straddles 1.
    assert shapingba.growth_rate == pytest.approx(0.0, abs=1e-12)
    assert shapingba.phase is Phase.PLATEAU
    assert shapingba.rt_lower is not None and shapingba.rt_lower < 1 < (shapingba.rt_upper or 0)


def test_the_series_are_districts_by_code_and_days_in_order(session: Session) -> None:
    import_official(session, municipal_series_rows())

    series = service.daily_series(
        session, first_day=date(2022, 11, 1), last_day=NOV_13, source="official"
    )

    assert list(series.codes) == sorted(series.codes)
    assert series.days[0] == date(2022, 11, 1) and len(series.days) == 13
    infections = series.infections()
    assert infections.shape == (len(series.codes), 13)
    np.testing.assert_array_equal(
        infections.sum(axis=0), [count for _, count in municipal_series()]
    )
    assert not series.missing["found_on_surface"].any()


def test_no_case_counts_at_all_is_not_found_and_too_few_days_is_refused(
    session: Session, app_client: TestClient
) -> None:
    _, token = district_user(session, "500106")

    with pytest.raises(NotFound, match="no case counts"):
        situation.trend(session, last_day=NOV_13, days=13)
    with pytest.raises(ValidationFailed):
        situation.trend(session, last_day=NOV_13, days=5)
    response = app_client.get(
        "/api/analytics/trend", params={"last_day": "2022-11-13", "days": 5}, headers=auth(token)
    )
    assert response.status_code == 422
