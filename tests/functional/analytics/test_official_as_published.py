"""Official counts as published: every name a unit goes by, city-wide rows kept apart, a day not
reported unknown (never zero) in the trend and Rt, and the bulletin in the commission's names."""

from __future__ import annotations

import dataclasses
from datetime import date

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories.analytics import import_official, municipal_series_rows
from xietong.analytics import service, situation
from xietong.analytics.models import OfficialCityCount, OfficialCount
from xietong.analytics.schemas import TrendRead
from xietong.areas import service as areas_service
from xietong.core.errors import ValidationFailed
from xietong.policy.service import policy_in_force
from xietong.reports import service as reports_service

DAY = "2022-11-14"
FIRST = date(2022, 11, 1)
LAST = date(2022, 11, 13)
NOT_REPORTED = date(2022, 11, 9)


def row(district: str, confirmed: int = 1, day: str = DAY) -> dict[str, object]:
    return {"district": district, "day": day, "new_confirmed": confirmed, "new_asymptomatic": 0}


def test_units_are_accepted_by_code_full_name_short_name_and_pinyin(session: Session) -> None:
    names = [
        "500241",  # 秀山土家族苗族自治县
        "酉阳县",  # 酉阳土家族苗族自治县, as bulletins print it
        "彭水縣",
        "石柱土家族自治县",
        "Chéngkǒu Xiàn",
        "wanzhou",
        "沙坪坝",
        "万盛经开区",
    ]

    report = import_official(session, [row(name) for name in names])

    assert (report.added, report.rows_rejected) == (len(names), 0)
    ids = set(session.scalars(select(OfficialCount.district_id)))
    codes = {d.code for d in areas_service.list_districts(session) if d.id in ids}
    assert codes == {"500241", "500242", "500243", "500240", "500229", "500101", "500106", "CQ-WS"}


def test_the_short_name_and_the_full_name_are_one_unit(session: Session) -> None:
    with pytest.raises(ValidationFailed) as refused:
        import_official(session, [row("秀山县"), row("秀山土家族苗族自治县")])

    assert refused.value.errors[0].field == "district"
    assert "same district, day and period as line 2" in refused.value.errors[0].reason


def test_city_rows_by_any_name_are_one_row_and_are_replaced_when_corrected(
    session: Session,
) -> None:
    with pytest.raises(ValidationFailed):
        import_official(session, [row("全市", 97), row("重庆市", 97)])

    first = import_official(session, [row("全市", 97), row("沙坪坝区", 27)])
    corrected = import_official(session, [row("Chongqing", 98)], name="corrected.csv")

    assert (first.added, corrected.replaced) == (2, 1)
    city = session.scalars(select(OfficialCityCount)).one()
    assert (city.day, city.new_confirmed, city.source) == (date(2022, 11, 14), 98, "corrected.csv")
    assert session.scalar(select(OfficialCount.new_confirmed)) == 27


def test_an_unknown_unit_is_named_in_the_error(session: Session) -> None:
    with pytest.raises(ValidationFailed) as refused:
        import_official(session, [row("火星区")])

    error = refused.value.errors[0]
    assert (error.record, error.field, error.value) == ("line 2", "district", "火星区")


def test_the_bulletin_prints_the_short_names_the_commission_uses(session: Session) -> None:
    import_official(session, [row("秀山县", 4), row("酉阳县", 1)])
    day = date(2022, 11, 14)

    full = reports_service.bulletin(session, day=day, source="official")
    short = reports_service.bulletin(session, day=day, source="official", short_names=True)

    assert "秀山土家族苗族自治县" in full.text
    assert "秀山县" in short.text and "酉阳县" in short.text
    assert "土家族" not in short.text


def test_the_bulletin_prints_the_citys_published_total_not_the_sum_of_its_rows(
    session: Session,
) -> None:
    # The commission's 0-18h release: 97 in the city, of which only some units broken down.
    import_official(
        session,
        [
            {**row("沙坪坝区", 27), "until": "18:00"},
            {**row("秀山县", 4), "until": "18:00"},
            {**row("全市", 97), "until": "18:00"},
        ],
    )
    day = date(2022, 11, 14)

    published = reports_service.bulletin(session, day=day, until_minute=18 * 60)

    assert published.source == "official"
    assert published.new_confirmed == 97
    assert "97" in published.text and "27" in published.text
    without_city = reports_service.bulletin_input(session, day=day, until_minute=18 * 60)[0]
    assert sum(d.new_confirmed for d in without_city.districts) == 31


def test_the_city_trend_follows_the_published_city_row_where_one_exists(
    session: Session,
) -> None:
    rows = municipal_series_rows()
    by_day: dict[str, int] = {}
    for r in rows:
        infections = int(str(r["new_confirmed"])) + int(str(r["new_asymptomatic"]))
        by_day[str(r["day"])] = by_day.get(str(r["day"]), 0) + infections
    # The commission's city total counts twice the units it broke down, on every day but one.
    city = [
        {**row("全市", 2 * total, day), "new_asymptomatic": 0}
        for day, total in by_day.items()
        if day != NOT_REPORTED.isoformat()
    ]
    import_official(session, [*rows, *city])

    trend = situation.trend(session, last_day=LAST, days=13)

    shown = {p.day.isoformat(): p.cases for p in trend.city.series}
    for day, total in by_day.items():
        expected = total if day == NOT_REPORTED.isoformat() else 2 * total
        assert shown[day] == expected, day
    summed = trend_of(
        dataclasses.replace(service.daily_series(session, first_day=FIRST, last_day=LAST), city={}),
        session,
    )
    # Read without its city rows, the same series is the districts' sum.
    assert trend.city.growth_rate is not None and summed.city.growth_rate is not None
    assert {p.day.isoformat(): p.cases for p in summed.city.series} == by_day


# -- a day not reported ------------------------------------------------------------------------


def rows_without(day: date) -> list[dict[str, object]]:
    return [r for r in municipal_series_rows() if r["day"] != day.isoformat()]


def trend_of(series: service.DailySeries, session: Session) -> TrendRead:
    return situation.trend_of_series(series, policy=policy_in_force(session, day=LAST))


def estimates(trend: TrendRead) -> list[tuple[float | None, ...]]:
    return [
        (p.growth_rate, p.rt_mean, p.rt_lower, p.rt_upper)
        for unit in (trend.city, *trend.districts)
        for p in unit.series
    ]


def test_a_day_not_reported_is_unknown_and_never_zero(session: Session) -> None:
    import_official(session, rows_without(NOT_REPORTED))

    series = service.daily_series(session, first_day=FIRST, last_day=LAST)
    trend = trend_of(series, session)

    column = series.days.index(NOT_REPORTED)
    assert series.unknown_counts()[:, column].all()
    assert not series.unknown_counts()[:, column - 1].any()
    point = next(p for p in trend.city.series if p.day == NOT_REPORTED)
    assert (point.cases, point.surface_cases, point.growth_rate, point.rt_mean) == (None,) * 4
    assert trend.city.unknown_days == [NOT_REPORTED]


def test_rt_and_growth_with_a_missing_day_equal_those_with_the_day_marked_unknown_not_zero(
    session: Session,
) -> None:
    import_official(session, rows_without(NOT_REPORTED))
    missing_day = service.daily_series(session, first_day=FIRST, last_day=LAST)
    column = missing_day.days.index(NOT_REPORTED)

    # The same counts with the day present as zeros: once marked unknown, once taken as zero.
    marked = {name: values.copy() for name, values in missing_day.missing.items()}
    zero_filled = {name: np.zeros_like(values) for name, values in missing_day.missing.items()}
    for name in marked:
        marked[name][:, column] = True
    marked_unknown = dataclasses.replace(missing_day, missing=marked)
    taken_as_zero = dataclasses.replace(missing_day, missing=zero_filled)

    with_gap = estimates(trend_of(missing_day, session))
    assert with_gap == estimates(trend_of(marked_unknown, session))
    assert with_gap != estimates(trend_of(taken_as_zero, session))
    after = trend_of(missing_day, session).city.series[column + 1]
    zero = trend_of(taken_as_zero, session).city.series[column + 1]
    assert after.growth_rate is not None and zero.growth_rate is not None
    # Every reported day of the series grows at 0.33 a day; a zero in the window drags the fit.
    assert abs(after.growth_rate - 0.33) < 0.02 < abs(zero.growth_rate - 0.33)


def test_estimates_are_given_only_where_the_data_carry_them(session: Session) -> None:
    import_official(session, [*municipal_series_rows(), row("巫溪县", 2, "2022-11-13")])

    trend = situation.trend(session, last_day=LAST, days=13)

    by_code = {unit.code: unit for unit in trend.districts}
    wuxi, shapingba = by_code["500238"], by_code["500106"]
    assert (wuxi.rt_enough_data, wuxi.rt_mean, wuxi.growth_rate) == (False, None, None)
    assert not wuxi.growth_enough_data
    assert shapingba.rt_enough_data and shapingba.rt_mean is not None
    assert shapingba.rt_upper is not None and shapingba.rt_lower is not None
    assert (shapingba.rt_upper - shapingba.rt_lower) / 2 / shapingba.rt_mean < 0.6
    assert trend.parameters.rt_max_cv == situation.RT_MAX_CV
    assert trend.parameters.growth_min_cases == situation.GROWTH_MIN_CASES
