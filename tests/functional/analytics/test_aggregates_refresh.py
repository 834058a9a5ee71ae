"""The daily aggregates stay equal to a recount of the raw rows: incrementally, with late and
repeated data, a safety margin for long transactions, and state metrics recounted daily."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories.analytics import Fact, MemoryDomain
from xietong.analytics import service
from xietong.analytics.catalogue import METRICS, METRICS_BY_DOMAIN
from xietong.analytics.models import DailyAggregate
from xietong.areas import service as areas_service

# 14 Nov 2022, 12:00 in Shanghai.
NOON = datetime(2022, 11, 14, 4, tzinfo=UTC)
DAY = date(2022, 11, 14)


def ids(session: Session) -> dict[str, int]:
    return areas_service.district_id_by_code(session)


def stored(session: Session) -> dict[tuple[int, date], dict[str, int | None]]:
    return {
        (row.district_id, row.day): {name: getattr(row, name) for name in METRICS}
        for row in session.scalars(select(DailyAggregate))
    }


def assert_equals_recount(session: Session, domains: list[MemoryDomain]) -> None:
    table = stored(session)
    recount = service.recount_cells(
        session, cells=set(table), providers=[d.provider() for d in domains]
    )
    for cell, figures in recount.items():
        for name, value in figures.items():
            assert table[cell][name] == value, (cell, name)


def cases_fact(key: str, district: int, day: date, created: datetime, count: int = 1) -> Fact:
    return Fact(key, district, day, "new_confirmed", count, created)


def test_the_first_refresh_counts_every_cell_with_a_fact_and_every_district_today(
    session: Session,
) -> None:
    cases = MemoryDomain("cases")
    sha = ids(session)["500106"]
    cases.ingest(cases_fact("a", sha, date(2022, 11, 10), NOON - timedelta(days=4)))
    cases.ingest(cases_fact("b", sha, date(2022, 11, 10), NOON - timedelta(days=4)))

    report = service.refresh_aggregates(session, now=NOON, providers=[cases.provider()])

    table = stored(session)
    assert table[(sha, date(2022, 11, 10))]["new_confirmed"] == 2
    assert table[(sha, date(2022, 11, 10))]["new_asymptomatic"] == 0
    # Today and yesterday exist for every district, with zeros where nothing happened.
    districts = len(ids(session))
    assert report.cells_refreshed == 2 * districts + 1
    assert all(table[(d, DAY)]["new_confirmed"] == 0 for d in ids(session).values())
    assert report.since is None and report.watermark == NOON
    assert report.domains == ["cases"]


def test_metrics_of_a_domain_this_deployment_lacks_are_null_not_zero(session: Session) -> None:
    cases = MemoryDomain("cases")

    service.refresh_aggregates(session, now=NOON, providers=[cases.provider()])

    row = stored(session)[(ids(session)["500103"], DAY)]
    assert all(row[name] == 0 for name in METRICS_BY_DOMAIN["cases"])
    assert all(row[name] is None for name in METRICS_BY_DOMAIN["screening"])
    assert row["active_high_risk_areas"] is None


def test_a_late_result_for_an_old_day_is_counted_on_the_next_refresh(session: Session) -> None:
    cases = MemoryDomain("cases")
    sha = ids(session)["500106"]
    old_day = date(2022, 11, 3)
    cases.ingest(cases_fact("a", sha, old_day, NOON - timedelta(days=10)))
    service.refresh_aggregates(session, now=NOON, providers=[cases.provider()])

    later = NOON + timedelta(hours=1)
    cases.ingest(cases_fact("late", sha, old_day, later - timedelta(minutes=5)))
    report = service.refresh_aggregates(session, now=later, providers=[cases.provider()])

    assert stored(session)[(sha, old_day)]["new_confirmed"] == 2
    assert report.since == NOON - service.SAFETY_MARGIN
    assert_equals_recount(session, [cases])


def test_out_of_order_and_repeated_ingestion_leaves_the_aggregates_equal_to_a_recount(
    session: Session,
) -> None:
    cases = MemoryDomain("cases")
    district = ids(session)
    batches = [
        # (arrives at, facts): days arrive out of order, and the second batch is sent twice.
        (NOON, [("x1", "500106", 12, 3), ("x2", "500113", 13, 1)]),
        (NOON + timedelta(hours=1), [("y1", "500106", 9, 2), ("y2", "500104", 14, 5)]),
        (NOON + timedelta(hours=2), [("y1", "500106", 9, 2), ("y2", "500104", 14, 5)]),
        (NOON + timedelta(hours=3), [("z1", "500113", 13, 4), ("z2", "500106", 11, 1)]),
    ]
    for arrives, facts in batches:
        for key, code, day, count in facts:
            cases.ingest(cases_fact(key, district[code], date(2022, 11, day), arrives, count=count))
        service.refresh_aggregates(session, now=arrives, providers=[cases.provider()])

    table = stored(session)
    assert table[(district["500106"], date(2022, 11, 9))]["new_confirmed"] == 2
    assert table[(district["500113"], date(2022, 11, 13))]["new_confirmed"] == 5
    assert_equals_recount(session, [cases])


def test_only_changed_cells_and_the_recent_days_are_recounted(session: Session) -> None:
    cases = MemoryDomain("cases")
    sha = ids(session)["500106"]
    cases.ingest(cases_fact("a", sha, date(2022, 11, 1), NOON - timedelta(days=13)))
    service.refresh_aggregates(session, now=NOON, providers=[cases.provider()])
    cases.calls.clear()

    report = service.refresh_aggregates(
        session, now=NOON + timedelta(hours=1), providers=[cases.provider()]
    )

    (asked,) = cases.calls
    assert (sha, date(2022, 11, 1)) not in asked
    assert {day for _, day in asked} == {DAY, DAY - timedelta(days=1)}
    assert report.cells_added == 0


def test_a_transaction_committed_within_the_safety_margin_is_not_missed(
    session: Session,
) -> None:
    cases = MemoryDomain("cases")
    sha = ids(session)["500106"]
    service.refresh_aggregates(session, now=NOON, providers=[cases.provider()])
    # Written (stamped) before the last refresh read, committed after it.
    cases.ingest(cases_fact("slow", sha, date(2022, 11, 5), NOON - timedelta(minutes=10)))

    service.refresh_aggregates(session, now=NOON + timedelta(hours=1), providers=[cases.provider()])

    assert stored(session)[(sha, date(2022, 11, 5))]["new_confirmed"] == 1


def test_a_transaction_longer_than_the_margin_waits_for_the_full_recount(
    session: Session,
) -> None:
    cases = MemoryDomain("cases")
    sha = ids(session)["500106"]
    service.refresh_aggregates(session, now=NOON, providers=[cases.provider()])
    cases.ingest(cases_fact("very-slow", sha, date(2022, 11, 5), NOON - timedelta(hours=2)))

    service.refresh_aggregates(session, now=NOON + timedelta(hours=1), providers=[cases.provider()])
    assert (sha, date(2022, 11, 5)) not in stored(session)

    report = service.refresh_aggregates(
        session, now=NOON + timedelta(hours=2), providers=[cases.provider()], full=True
    )
    assert stored(session)[(sha, date(2022, 11, 5))]["new_confirmed"] == 1
    assert report.full


def test_a_state_metric_is_recounted_on_recent_days_without_a_changed_row(
    session: Session,
) -> None:
    cases = MemoryDomain("cases")
    sha = ids(session)["500106"]
    cases.state[(sha, DAY)] = {"quarantine_occupancy": 120}
    service.refresh_aggregates(session, now=NOON, providers=[cases.provider()])
    cases.state[(sha, DAY)] = {"quarantine_occupancy": 135}

    service.refresh_aggregates(session, now=NOON + timedelta(hours=3), providers=[cases.provider()])

    assert stored(session)[(sha, DAY)]["quarantine_occupancy"] == 135


def test_a_cell_new_to_the_table_is_counted_by_every_domain(session: Session) -> None:
    cases, zones = MemoryDomain("cases"), MemoryDomain("zones")
    sha = ids(session)["500106"]
    old_day = date(2022, 11, 2)
    # A locked area whose rows changed long ago: zones reports no change for the day ...
    zones.state[(sha, old_day)] = {"active_high_risk_areas": 3}
    service.refresh_aggregates(session, now=NOON, providers=[cases.provider(), zones.provider()])
    # ... but a late case makes the cell appear, and its zones figure must not read 0.
    cases.ingest(cases_fact("late", sha, old_day, NOON + timedelta(minutes=30)))

    service.refresh_aggregates(
        session, now=NOON + timedelta(hours=1), providers=[cases.provider(), zones.provider()]
    )

    row = stored(session)[(sha, old_day)]
    assert (row["new_confirmed"], row["active_high_risk_areas"]) == (1, 3)


def test_recounting_one_domain_keeps_the_other_domains_figures(session: Session) -> None:
    cases, screening = MemoryDomain("cases"), MemoryDomain("screening")
    sha = ids(session)["500106"]
    day = date(2022, 11, 10)
    screening.ingest(Fact("t1", sha, day, "tubes_sampled", 500, NOON - timedelta(days=4)))
    cases.ingest(cases_fact("c1", sha, day, NOON - timedelta(days=4)))
    providers = [cases.provider(), screening.provider()]
    service.refresh_aggregates(session, now=NOON, providers=providers)

    cases.ingest(cases_fact("c2", sha, day, NOON + timedelta(minutes=1)))
    service.refresh_aggregates(session, now=NOON + timedelta(hours=1), providers=providers)

    row = stored(session)[(sha, day)]
    assert (row["new_confirmed"], row["tubes_sampled"]) == (2, 500)
    assert_equals_recount(session, [cases, screening])


def test_a_metric_outside_the_catalogue_is_reported_not_stored(session: Session) -> None:
    cases = MemoryDomain("cases")
    sha = ids(session)["500106"]
    cases.ingest(Fact("odd", sha, DAY, "new_imported", 2, NOON))

    report = service.refresh_aggregates(session, now=NOON, providers=[cases.provider()])

    assert report.unknown_metrics == ["new_imported"]


def test_a_negative_or_fractional_figure_from_a_domain_is_refused_naming_it(
    session: Session,
) -> None:
    cases = MemoryDomain("cases")
    cases.ingest(Fact("bad", ids(session)["500106"], DAY, "new_confirmed", -1, NOON))

    with pytest.raises(ValueError, match=r"cases\.metrics returned new_confirmed=-1"):
        service.refresh_aggregates(session, now=NOON, providers=[cases.provider()])


def test_refresh_refuses_a_naive_now(session: Session) -> None:
    with pytest.raises(ValueError, match="now"):
        service.refresh_aggregates(session, now=datetime(2022, 11, 14), providers=[])  # noqa: DTZ001


def test_the_watermark_moves_to_the_refresh_time(session: Session) -> None:
    assert service.last_watermark(session) is None
    service.refresh_aggregates(session, now=NOON, providers=[])
    service.refresh_aggregates(session, now=NOON + timedelta(hours=1), providers=[])
    assert service.last_watermark(session) == NOON + timedelta(hours=1)


def test_domains_with_a_metrics_module_are_discovered() -> None:
    found = {provider.domain for provider in service.metrics_providers()}
    assert found <= set(METRICS_BY_DOMAIN)
    for provider in service.metrics_providers():
        assert callable(provider.changed_cells) and callable(provider.daily_metrics)


def test_a_row_read_before_a_refresh_shows_the_new_figures_after_it(session: Session) -> None:
    cases = MemoryDomain("cases")
    sha = ids(session)["500106"]
    service.refresh_aggregates(session, now=NOON, providers=[cases.provider()])
    row = session.get(DailyAggregate, (sha, DAY))
    assert row is not None and row.new_confirmed == 0

    cases.ingest(cases_fact("a", sha, DAY, NOON + timedelta(minutes=5)))
    service.refresh_aggregates(session, now=NOON + timedelta(hours=1), providers=[cases.provider()])

    assert row.new_confirmed == 1
