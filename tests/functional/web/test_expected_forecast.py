"""The forecast page and the overview show the backtested forecast (the growth forecast
recalibrated by its own past misses) on the series the backtests read, named as such, beside
the transmission model's scenarios; the mutual-aid demand plans on the same numbers."""

from __future__ import annotations

import re
from datetime import date, timedelta

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.cases import at, growing_cases_recorded_late
from tests.factories.clock import TZ
from tests.factories.web import figure, log_in
from xietong.analytics import service as analytics_service
from xietong.analytics.core.growth_forecast import own_growth_weights
from xietong.analytics.core.recalibrated import recalibrated_quantiles
from xietong.analytics.expected import HORIZON_DAYS, expected_inputs
from xietong.analytics.nowcasting import reporting_triangle
from xietong.areas import service as areas_service
from xietong.core.principal import Role
from xietong.mutual_aid.outlook.demand import whole_arrivals
from xietong.mutual_aid.outlook.service import outlook
from xietong.mutual_aid.schemas import DemandRequest
from xietong.people.protection import PersonalDataProtector
from xietong.policy.service import policy_in_force
from xietong.web.data.overview import expected
from xietong.web.i18n import translate

DAY = date(2022, 11, 13)
DISTRICT = "500106"
# The hub levels 0.05, 0.25, 0.5, 0.75 and 0.95 among the backtests' 23.
SHOWN = {"p05": 2, "p25": 6, "median": 11, "p75": 16, "p95": 20}


def _cases(session: Session, protector: PersonalDataProtector) -> None:
    growing_cases_recorded_late(session, protector, district_code=DISTRICT)
    analytics_service.refresh_aggregates(session, now=at(DAY + timedelta(days=3), 1), tz=TZ)


def _row(html: str, code: str) -> list[str]:
    """The cells of a district's row of the forecast page's table, after its name."""
    match = re.search(rf'<tr data-code="{code}">(.*?)</tr>', html, re.S)
    assert match is not None, f"no row for {code}"
    return re.findall(r'<td class="num[^"]*">([^<]*)</td>', match.group(1))


def _whole(value: float) -> str:
    return f"{value:,.0f}"


def test_the_pages_show_the_recalibrated_forecast_of_the_backtests_series(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    _cases(session, protector)
    log_in(app_client, session, role=Role.command)
    inputs = expected_inputs(session, last_day=DAY, tz=TZ)
    # What a backtest reads on this deployment: cases by the day first sampled, as recorded by
    # the end of the day, the last days completed by each district's chain-ladder.
    assert inputs.series == "nowcast"
    triangle = reporting_triangle(session, first_day=inputs.days[0], last_day=DAY, tz=TZ)
    assert np.array_equal(inputs.counts, triangle.completed(len(triangle.days) - 1).T)
    districts = recalibrated_quantiles(
        inputs.counts, horizon_days=HORIZON_DAYS, rng=np.random.default_rng(0)
    )
    city = recalibrated_quantiles(
        inputs.counts.sum(axis=1, keepdims=True),
        horizon_days=HORIZON_DAYS,
        rng=np.random.default_rng(0),
    )[:, 0]
    row = inputs.codes.index(DISTRICT)

    page = app_client.get(f"/forecast?day={DAY.isoformat()}")
    assert page.status_code == 200
    traces = figure(page.text, "forecast-chart")["data"]
    name = translate("zh", "forecast.expected_median")
    median = next(t for t in traces if t.get("name") == name and not t.get("fill"))
    assert median["y"] == city[:, SHOWN["median"]].tolist()
    assert median["x"][0] == (DAY + timedelta(days=1)).isoformat()
    assert len(median["x"]) == HORIZON_DAYS
    cells = _row(page.text, DISTRICT)
    for k, n in enumerate((7, 14)):
        q = {field: districts[n - 1, row, level] for field, level in SHOWN.items()}
        assert cells[2 * k] == _whole(q["median"])
        assert cells[2 * k + 1] == (
            f"{_whole(q['p25'])}–{_whole(q['p75'])} / {_whole(q['p05'])}–{_whole(q['p95'])}"
        )
    # Which forecast it is, and which the scenarios are, in words.
    assert translate("zh", "forecast.series.nowcast") in page.text
    assert translate("zh", "forecast.scenarios_note") in page.text

    overview = app_client.get(f"/overview?day={DAY.isoformat()}")
    assert overview.status_code == 200
    wide, narrow, line = figure(overview.text, "epidemic-curve")["data"][-3:]
    assert line["name"] == translate("zh", "overview.expected")
    assert line["y"] == city[:, SHOWN["median"]].tolist()
    assert wide["y"] == [*city[:, SHOWN["p95"]], *city[::-1, SHOWN["p05"]]]
    assert narrow["y"] == [*city[:, SHOWN["p75"]], *city[::-1, SHOWN["p25"]]]
    assert 'id="expected-note"' in overview.text


def test_each_districts_row_says_how_much_its_own_growth_weighs_beside_the_citys(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    _cases(session, protector)
    log_in(app_client, session, role=Role.command)
    inputs = expected_inputs(session, last_day=DAY, tz=TZ)
    weights = own_growth_weights(inputs.counts)

    page = app_client.get(f"/forecast?day={DAY.isoformat()}")

    assert page.status_code == 200
    assert translate("zh", "forecast.own_growth") in page.text
    assert translate("zh", "forecast.own_growth_note") in page.text
    for code in (DISTRICT, inputs.codes[0]):
        weight = weights[inputs.codes.index(code)]
        match = re.search(rf'<tr data-code="{code}">(.*?)</tr>', page.text, re.S)
        assert match is not None
        assert f'<td class="num">{_whole(weight * 100)}%' in match.group(1)
        leans = translate("zh", "forecast.leans_on_city")
        assert (leans in match.group(1)) == (weight < 0.5)


def test_the_forecast_page_says_which_forecast_is_which_in_english(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    _cases(session, protector)
    log_in(app_client, session, role=Role.command)
    page = app_client.get(f"/forecast?day={DAY.isoformat()}&lang=en")
    assert page.status_code == 200
    for key in ("forecast.expected", "forecast.series.nowcast", "forecast.scenarios_note"):
        assert translate("en", key) in page.text


def test_the_bands_are_ordered_and_within_a_small_districts_susceptibles(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    _cases(session, protector)
    # Fewer residents than the outbreak would infect over two weeks: the cap must hold.
    areas_service.get_district(session, code=DISTRICT).population = 260
    session.flush()
    ahead = expected(session, last_day=DAY, tz=TZ)
    for district in [*ahead.districts]:
        bands = district.infections
        values = np.array([bands.p05, bands.p25, bands.median, bands.p75, bands.p95])
        assert np.all(np.diff(values, axis=0) >= 0)
        assert np.all(values >= 0)
        if district.susceptible is not None:
            assert np.all(values <= district.susceptible)
    small = next(d for d in ahead.districts if d.code == DISTRICT)
    assert small.susceptible is not None and 0 < small.susceptible < 260
    assert max(small.infections.p95) == small.susceptible  # the cap binds
    city = np.array([ahead.city.p05, ahead.city.median, ahead.city.p95])
    assert ahead.city_susceptible is not None and np.all(city <= ahead.city_susceptible)

    log_in(app_client, session, role=Role.command)
    page = app_client.get(f"/forecast?day={DAY.isoformat()}")
    # after the median and the bands of days 7 and 14
    assert _row(page.text, DISTRICT)[4] == _whole(small.susceptible)


def test_a_districts_demand_is_the_forecast_pages_number_at_the_policys_quantile(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    # Cases recorded up to two days late: by the day of report the last days would read
    # otherwise than the nowcast-completed series the page forecasts from.
    _cases(session, protector)
    log_in(app_client, session, role=Role.command)
    level = policy_in_force(session, day=DAY).mutual_aid.demand_quantile
    field = f"p{round(100 * level):02d}"

    served = app_client.get(f"/api/analytics/expected?last_day={DAY.isoformat()}").json()
    view = outlook(
        session, first_day=DAY + timedelta(days=1), days=7, inputs=DemandRequest(days=7), tz=TZ
    )

    assert served["parameters"]["series"] == "nowcast"
    forecast = next(d for d in served["districts"] if d["code"] == DISTRICT)["infections"][field]
    row = view.district_codes.index(DISTRICT)
    assert (view.demand.source, view.demand.quantile) == ("growth_recalibrated", level)
    assert view.demand.projected[row].tolist() == forecast[:7]
    assert view.demand.new_cases[row].tolist() == whole_arrivals(np.array(forecast[:7])).tolist()
    # The page's table: the band at 7 days ends at the same number.
    page = app_client.get(f"/forecast?day={DAY.isoformat()}")
    band = _row(page.text, DISTRICT)[1]
    assert band.split(" / ")[0].split("–")[1] == _whole(view.demand.projected[row, 6])
