"""The bulletin from the store: the reference 14 November 0–18h counts give the published total,
figures and groups through the service and the API; whole days come from the aggregates, parts of
a day from official counts or the raw facts, never pro-rated."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.analytics import (
    REFERENCE_14_NOV_0_18H,
    REFERENCE_TOTAL,
    Fact,
    MemoryDomain,
    import_official,
    reference_14_nov_rows,
)
from tests.factories.auth import district_user
from xietong.analytics import service as analytics_service
from xietong.analytics.service import MetricsProvider
from xietong.areas import service as areas_service
from xietong.core.errors import NotFound
from xietong.reports import service
from xietong.reports.bulletin import collation_key

NOV_14 = date(2022, 11, 14)
EIGHTEEN = 18 * 60


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def reference_groups() -> dict[int, set[str]]:
    groups: dict[int, set[str]] = {}
    for code, count in REFERENCE_14_NOV_0_18H:
        groups.setdefault(count, set()).add(code)
    return groups


def test_reference_14_november_0_to_18h_gives_the_published_total_figures_and_groups(
    session: Session,
) -> None:
    import_official(session, reference_14_nov_rows())

    result = service.bulletin(session, day=NOV_14, until_minute=EIGHTEEN)

    assert result.source == "official"
    assert (result.new_confirmed, result.new_asymptomatic) == (REFERENCE_TOTAL, 0)
    assert not result.whole_day
    assert [g.count for g in result.confirmed_groups] == [27, 18, 9, 7, 6, 4, 3, 2, 1]
    assert {g.count: set(g.district_codes) for g in result.confirmed_groups} == reference_groups()
    first_line, breakdown = result.text.splitlines()
    assert first_line == (
        "2022年11月14日0—18时，重庆市新增本土确诊病例97例，无新增本土无症状感染者。"
    )
    assert breakdown.startswith("新增本土确诊病例中，沙坪坝区27例，垫江县18例，巴南区9例，")
    assert "涪陵区、江北区、江津区、万州区各2例" in breakdown
    assert breakdown.endswith("各1例。")


def test_districts_with_equal_counts_follow_the_documented_collation(session: Session) -> None:
    import_official(session, reference_14_nov_rows())
    districts = {d.code: d for d in areas_service.list_districts(session)}

    result = service.bulletin(session, day=NOV_14, until_minute=EIGHTEEN)

    for group in result.confirmed_groups:
        keys = [
            collation_key(pinyin=districts[code].pinyin, code=code) for code in group.district_codes
        ]
        assert keys == sorted(keys)
    ones = next(g for g in result.confirmed_groups if g.count == 1)
    assert ones.names[:2] == ["北碚区", "长寿区"]


def test_the_api_gives_the_reference_bulletin_in_each_language(
    app_client: TestClient, session: Session
) -> None:
    import_official(session, reference_14_nov_rows())
    _, token = district_user(session, "500106")
    params = {"date": "2022-11-14", "until": "18:00"}

    hans = app_client.get("/api/reports/bulletin", params=params, headers=auth(token))
    hant = app_client.get(
        "/api/reports/bulletin", params=params | {"lang": "zh-Hant"}, headers=auth(token)
    )
    english = app_client.get(
        "/api/reports/bulletin",
        params=params | {"lang": "en", "format": "text"},
        headers=auth(token),
    )

    assert hans.status_code == 200, hans.text
    body = hans.json()
    assert body["new_confirmed"] == REFERENCE_TOTAL and body["source"] == "official"
    assert body["start"].startswith("2022-11-14T00:00:00+08:00")
    assert body["end"].startswith("2022-11-14T18:00:00+08:00")
    assert {g["count"]: set(g["district_codes"]) for g in body["confirmed_groups"]} == (
        reference_groups()
    )
    assert hant.json()["text"].startswith("2022年11月14日0—18時，重慶市新增本土確診病例97例")
    assert "沙坪壩區27例" in hant.json()["text"]
    assert english.headers["content-type"].startswith("text/plain")
    assert english.text.startswith(
        "From 00:00 to 18:00 on 14 November 2022, Chongqing reported 97 new local confirmed cases"
    )
    assert "27 in Shapingba District" in english.text


def test_the_api_refuses_a_bad_period_and_a_day_with_no_counts(
    app_client: TestClient, session: Session
) -> None:
    _, token = district_user(session, "500106")

    bad = app_client.get(
        "/api/reports/bulletin",
        params={"date": "2022-11-14", "until": "25:10"},
        headers=auth(token),
    )
    missing = app_client.get(
        "/api/reports/bulletin",
        params={"date": "2022-11-14", "source": "official"},
        headers=auth(token),
    )

    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "until"
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "no_official_counts"


def test_a_whole_day_comes_from_the_aggregates_when_no_official_count_exists(
    session: Session,
) -> None:
    cases = MemoryDomain("cases")
    code_to_id = areas_service.district_id_by_code(session)
    at = datetime(2022, 11, 14, 10, tzinfo=UTC)
    for key, code, metric, count in (
        ("a", "500106", "new_confirmed", 5),
        ("b", "500106", "found_under_control", 4),
        ("c", "500106", "found_on_surface", 3),
        ("d", "500106", "new_asymptomatic", 2),
        ("e", "500113", "new_asymptomatic", 2),
        ("f", "500113", "found_under_control", 2),
    ):
        cases.ingest(Fact(key, code_to_id[code], NOV_14, metric, count, at))
    analytics_service.refresh_aggregates(
        session, now=at + timedelta(hours=20), providers=[cases.provider()]
    )

    result = service.bulletin(session, day=NOV_14)

    assert result.source == "aggregates" and result.whole_day
    assert result.text.splitlines() == [
        "2022年11月14日0—24时，重庆市新增本土确诊病例5例，新增本土无症状感染者4例。",
        "新增本土确诊病例中，沙坪坝区5例。",
        "新增本土无症状感染者中，巴南区、沙坪坝区各2例。",
        "以上新增本土确诊病例和无症状感染者中，管控内发现6例，社会面筛查发现3例。",
    ]


def test_official_whole_day_counts_take_precedence_over_the_aggregates(session: Session) -> None:
    import_official(
        session,
        [{"district": "500106", "day": "2022-11-14", "new_confirmed": 9, "new_asymptomatic": 1}],
    )
    analytics_service.refresh_aggregates(
        session, now=datetime(2022, 11, 15, 2, tzinfo=UTC), providers=[]
    )

    assert service.bulletin(session, day=NOV_14).new_confirmed == 9
    with pytest.raises(NotFound, match="no case counts"):
        service.bulletin(session, day=NOV_14, source="aggregates")


def test_a_partial_day_is_never_pro_rated_from_the_daily_aggregates(session: Session) -> None:
    analytics_service.refresh_aggregates(
        session, now=datetime(2022, 11, 14, 12, tzinfo=UTC), providers=[]
    )

    with pytest.raises(NotFound) as refused:
        service.bulletin(session, day=NOV_14, until_minute=EIGHTEEN, providers=[])

    assert refused.value.code == "no_partial_day_counts"


def test_a_partial_day_is_counted_from_the_raw_facts_of_the_period(session: Session) -> None:
    sha = areas_service.district_id_by_code(session)["500106"]
    asked: list[tuple[datetime, datetime]] = []

    def period_metrics(
        session: Session, *, start: datetime, end: datetime, tz: str
    ) -> dict[int, dict[str, int]]:
        asked.append((start, end))
        return {sha: {"new_confirmed": 4, "new_asymptomatic": 1, "conversions": 1}}

    def unused(session: Session, **_: Collection[object]) -> dict[object, object]:
        raise AssertionError("a partial day reads no daily figure")

    provider = MetricsProvider(
        domain="cases", changed_cells=unused, daily_metrics=unused, period_metrics=period_metrics
    )

    result = service.bulletin(session, day=NOV_14, until_minute=EIGHTEEN, providers=[provider])

    assert result.source == "facts"
    (start, end) = asked[0]
    assert (start.astimezone(UTC), end.astimezone(UTC)) == (
        datetime(2022, 11, 13, 16, tzinfo=UTC),
        datetime(2022, 11, 14, 10, tzinfo=UTC),
    )
    assert result.text.splitlines()[0] == (
        "2022年11月14日0—18时，重庆市新增本土确诊病例4例（含1例无症状感染者转为确诊病例），"
        "新增本土无症状感染者1例。"
    )
