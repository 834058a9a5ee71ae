"""The earliest possible lifting day shown to the public and the command team, and the daily
metric `active_high_risk_areas` per district, recounted from the areas themselves."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tests.factories.zones import NOV, TZ, ScreeningDays, area, at, building, days, infection
from xietong.core.principal import SYSTEM
from xietong.people.protection import PersonalDataProtector
from xietong.zones import metrics, service, status


def test_the_earliest_lifting_day_is_the_fifth_clean_day_after_the_last_infection(
    session: Session, protector: PersonalDataProtector
) -> None:
    home = building(session, "500105", 0)
    infection(session, protector, home, NOV[14])
    proposal = service.open_area_of(session, building_id=home.id)
    assert proposal is not None
    service.approve_area(session, principal=SYSTEM, area_id=proposal.id, now=at(NOV[14], 13), tz=TZ)
    screening = ScreeningDays().add(home, days(NOV[15], NOV[30]))
    for today, expected in ((NOV[15], NOV[19]), (NOV[17], NOV[19]), (NOV[19], NOV[19])):
        page = status.public_list(
            session, today=today, district_id=home.district_id, screening=screening
        )
        assert page.items[0].earliest_lifting_on == expected, today


def test_on_the_day_of_the_infection_the_earliest_lifting_day_is_not_a_day_early(
    session: Session, protector: PersonalDataProtector
) -> None:
    home = building(session, "500105", 4)
    infection(session, protector, home, NOV[14])
    proposal = service.open_area_of(session, building_id=home.id)
    assert proposal is not None
    service.approve_area(session, principal=SYSTEM, area_id=proposal.id, now=at(NOV[14], 13), tz=TZ)
    screening = ScreeningDays().add(home, days(NOV[14], NOV[30]))
    for today in (NOV[14], NOV[15]):
        page = status.public_list(
            session, today=today, district_id=home.district_id, screening=screening
        )
        assert page.items[0].earliest_lifting_on == NOV[19], today
        statuses = status.building_statuses(
            session, building_ids=[home.id], today=today, screening=screening
        )
        assert statuses[home.id].earliest_lifting_on == NOV[19], today


def test_a_new_infection_moves_the_earliest_lifting_day(
    session: Session, protector: PersonalDataProtector
) -> None:
    home = building(session, "500105", 1)
    locked = area(session, home, status="active", active_from=NOV[14])
    infection(session, protector, home, NOV[16])
    screening = ScreeningDays().add(home, days(NOV[14], NOV[30]))
    page = status.public_list(
        session, today=NOV[18], district_id=home.district_id, screening=screening
    )
    assert page.items[0].earliest_lifting_on == NOV[21]
    statuses = status.building_statuses(
        session, building_ids=[home.id], today=NOV[18], screening=screening
    )
    assert statuses[home.id].earliest_lifting_on == NOV[21]
    assert statuses[home.id].area_id == locked.id
    assert statuses[home.id].last_infection_on == NOV[16]


def test_a_missing_round_moves_the_earliest_lifting_day(session: Session) -> None:
    home = building(session, "500105", 2)
    area(session, home, status="active", active_from=NOV[14])
    screening = ScreeningDays().add(home, [NOV[14], NOV[16], NOV[17]])  # no round on the 15th
    page = status.public_list(
        session, today=NOV[18], district_id=home.district_id, screening=screening
    )
    assert page.items[0].earliest_lifting_on == NOV[20]


def test_an_area_awaiting_its_lifting_can_be_lifted_today(session: Session) -> None:
    home = building(session, "500105", 3)
    area(session, home, status="lifting_proposed", active_from=NOV[10], lifted_on=NOV[15])
    page = status.public_list(
        session, today=NOV[17], district_id=home.district_id, screening=ScreeningDays()
    )
    assert page.items[0].earliest_lifting_on == NOV[17]


def test_active_high_risk_areas_are_counted_per_district_and_day(session: Session) -> None:
    a = building(session, "500109", 0)
    b = building(session, "500109", 1)
    c = building(session, "500110", 0)
    area(session, a, status="lifted", active_from=NOV[14], lifted_on=NOV[19])
    area(session, b, status="active", active_from=NOV[16])
    area(session, c, status="active", active_from=NOV[15])
    area(session, building(session, "500109", 2), status="proposed", active_from=NOV[14])
    area(session, building(session, "500109", 3), status="rejected", active_from=NOV[14])
    cells = [(a.district_id, day) for day in days(NOV[13], NOV[20])] + [(c.district_id, NOV[14])]
    found = metrics.daily_metrics(session, cells=cells, tz=TZ)
    counts = [
        found[(a.district_id, day)]["active_high_risk_areas"] for day in days(NOV[13], NOV[20])
    ]
    assert counts == [0, 1, 1, 2, 2, 2, 1, 1]
    assert found[(c.district_id, NOV[14])] == {"active_high_risk_areas": 0}


def test_a_recount_from_the_changed_cells_equals_the_aggregate(session: Session) -> None:
    since = at(NOV[1])
    home = building(session, "500111", 0)
    area(session, home, status="lifted", active_from=NOV[14], lifted_on=NOV[17])
    changed = metrics.changed_cells(session, since=since)
    mine = sorted(day for district, day in changed if district == home.district_id)
    assert mine == [NOV[14], NOV[15], NOV[16]]
    counts = metrics.daily_metrics(session, cells=changed, tz=TZ)
    # The lifting day (17th) is the first unlocked day: three locked days, one area each.
    assert [counts[(home.district_id, d)]["active_high_risk_areas"] for d in mine] == [1, 1, 1]
    assert metrics.daily_metrics(session, cells=[], tz=TZ) == {}
