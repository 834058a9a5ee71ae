"""The daily evaluation (快解) on the database: the 5-day countdown, the screening requirement
following the policy of the day, idempotence, and the notices the district must act on."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories.zones import (
    NOV,
    TZ,
    ScreeningDays,
    adopt_changes,
    area,
    at,
    building,
    days,
    infection,
    resident,
)
from xietong.areas.models import Building
from xietong.core.principal import SYSTEM
from xietong.outbox.models import OutboxMessage
from xietong.people.protection import PersonalDataProtector
from xietong.zones import adapters, service, tasks
from xietong.zones.models import RiskArea


def locked_by_a_surface_case(
    session: Session, protector: PersonalDataProtector, home: Building, day: date
) -> RiskArea:
    """A surface infection on `day`, proposed and approved the same day."""
    infection(session, protector, home, day, hour=8)
    proposed = service.open_area_of(session, building_id=home.id)
    assert proposed is not None
    return service.approve_area(
        session, principal=SYSTEM, area_id=proposed.id, now=at(day, 13), tz=TZ
    )


def evaluate(session: Session, day: date, screening: ScreeningDays) -> list[int]:
    report = tasks.evaluate_day(session, day=day, now=at(day, 22), tz=TZ, screening=screening)
    return report.liftings_proposed


def test_day_four_is_not_yet_day_five_with_a_negative_screening_is_proposed(
    session: Session, protector: PersonalDataProtector
) -> None:
    home = building(session, "500103", 0)
    locked = locked_by_a_surface_case(session, protector, home, NOV[14])
    screening = ScreeningDays().add(home, days(NOV[15], NOV[19]))
    assert evaluate(session, NOV[18], screening) == []
    assert evaluate(session, NOV[19], screening) == [locked.id]
    session.refresh(locked)
    assert locked.status == "lifting_proposed"
    last = service.area_events(session, area_id=locked.id)[-1]
    assert (last.step, last.day, last.username, last.policy_version) == (
        "lifting_proposed",
        NOV[19],
        "system",
        "2022-11-11",
    )
    assert last.reason == (
        "5 consecutive clean days, 2022-11-15 to 2022-11-19, screened negative every day "
        "(policy 2022-11-11)"
    )


def test_a_positive_on_day_three_restarts_the_countdown(
    session: Session, protector: PersonalDataProtector
) -> None:
    home = building(session, "500103", 1)
    locked = locked_by_a_surface_case(session, protector, home, NOV[14])
    infection(session, protector, home, NOV[17])
    screening = ScreeningDays().add(home, [NOV[15], NOV[16], *days(NOV[18], NOV[22])])
    assert evaluate(session, NOV[19], screening) == []
    assert evaluate(session, NOV[21], screening) == []
    assert evaluate(session, NOV[22], screening) == [locked.id]


def test_day_five_without_a_negative_round_is_not_clean(
    session: Session, protector: PersonalDataProtector
) -> None:
    home = building(session, "500103", 2)
    locked = locked_by_a_surface_case(session, protector, home, NOV[14])
    screening = ScreeningDays().add(home, days(NOV[15], NOV[18]))
    assert evaluate(session, NOV[19], screening) == []
    screening.add(home, [NOV[20], NOV[21], NOV[22], NOV[23], NOV[24]])
    assert evaluate(session, NOV[23], screening) == []
    assert evaluate(session, NOV[24], screening) == [locked.id]


def test_evaluating_the_same_day_twice_proposes_once(
    session: Session, protector: PersonalDataProtector
) -> None:
    home = building(session, "500103", 3)
    locked = locked_by_a_surface_case(session, protector, home, NOV[14])
    screening = ScreeningDays().add(home, days(NOV[15], NOV[19]))
    assert evaluate(session, NOV[19], screening) == [locked.id]
    assert evaluate(session, NOV[19], screening) == []
    steps = [e.step for e in service.area_events(session, area_id=locked.id)]
    assert steps.count("lifting_proposed") == 1


def test_the_clean_days_count_from_the_designation_not_before(session: Session) -> None:
    home = building(session, "500103", 4)
    designated = area(session, home, status="active", active_from=NOV[16])
    screening = ScreeningDays().add(home, days(NOV[1], NOV[30]))
    assert evaluate(session, NOV[19], screening) == []
    assert evaluate(session, NOV[20], screening) == [designated.id]


def test_after_a_rejected_lifting_the_count_starts_again_the_next_day(session: Session) -> None:
    home = building(session, "500103", 5)
    awaiting = area(
        session, home, status="lifting_proposed", active_from=NOV[14], lifted_on=NOV[19]
    )
    service.reject_lifting(
        session,
        principal=SYSTEM,
        area_id=awaiting.id,
        reason="contacts still pending",
        now=at(NOV[19], 23),
        tz=TZ,
    )
    screening = ScreeningDays().add(home, days(NOV[14], NOV[30]))
    assert evaluate(session, NOV[23], screening) == []
    assert evaluate(session, NOV[24], screening) == [awaiting.id]


def test_without_screening_results_no_lifting_is_proposed_when_the_policy_asks(
    session: Session, protector: PersonalDataProtector, monkeypatch: pytest.MonkeyPatch
) -> None:
    from xietong.zones import countdown

    monkeypatch.setattr(countdown, "screened_throughout_source", lambda: None)
    home = building(session, "500104", 0)
    locked_by_a_surface_case(session, protector, home, NOV[14])
    report = tasks.evaluate_day(session, day=NOV[25], now=at(NOV[25], 22), tz=TZ)
    assert (report.screening, report.liftings_proposed) == ("unavailable", [])


def test_a_policy_without_the_screening_requirement_lifts_on_clean_days_alone(
    session: Session, protector: PersonalDataProtector
) -> None:
    adopt_changes(
        session,
        version="no-screening",
        effective_from=NOV[18],
        changes={"risk_area.lifting_requires_negative_screening": False},
    )
    home = building(session, "500104", 1)
    locked = locked_by_a_surface_case(session, protector, home, NOV[14])
    screening = ScreeningDays()
    report = tasks.evaluate_day(
        session, day=NOV[19], now=at(NOV[19], 22), tz=TZ, screening=screening
    )
    assert (report.policy_version, report.screening) == ("no-screening", "not_required")
    assert report.liftings_proposed == [locked.id]
    assert screening.calls == 0


def test_the_number_of_clean_days_is_the_policys_of_the_evaluated_day(
    session: Session, protector: PersonalDataProtector
) -> None:
    adopt_changes(
        session,
        version="three-days",
        effective_from=NOV[20],
        changes={"risk_area.lift_after_clean_days": 3},
    )
    home = building(session, "500104", 2)
    locked = locked_by_a_surface_case(session, protector, home, NOV[16])
    screening = ScreeningDays().add(home, days(NOV[17], NOV[30]))
    # 19 Nov: three clean days, but the five-day policy is still in force.
    assert evaluate(session, NOV[19], screening) == []
    report = tasks.evaluate_day(
        session, day=NOV[20], now=at(NOV[20], 22), tz=TZ, screening=screening
    )
    assert (report.policy_version, report.lift_after_clean_days) == ("three-days", 3)
    assert report.liftings_proposed == [locked.id]


def test_only_active_areas_are_evaluated(
    session: Session, protector: PersonalDataProtector
) -> None:
    proposed = area(session, building(session, "500105", 0), status="proposed")
    lifted = area(session, building(session, "500105", 1), status="lifted", lifted_on=NOV[19])
    screening = ScreeningDays()
    for a in (proposed, lifted):
        screening.add(a.building_id, days(NOV[1], NOV[30]))
    report = tasks.evaluate_day(
        session, day=NOV[25], now=at(NOV[25], 22), tz=TZ, screening=screening
    )
    assert proposed.id not in report.liftings_proposed
    assert lifted.id not in report.liftings_proposed


class Outbox:
    """Captures what zones hands to the outbox's `enqueue`."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def __call__(self, session: Session, **message: Any) -> None:
        self.sent.append(message)


def test_the_steps_someone_must_act_on_reach_the_district_through_the_outbox(
    session: Session, protector: PersonalDataProtector, monkeypatch: pytest.MonkeyPatch
) -> None:
    outbox = Outbox()
    monkeypatch.setattr(adapters, "outbox_enqueue", lambda: outbox)
    home = building(session, "500112", 0)
    locked = locked_by_a_surface_case(session, protector, home, NOV[14])
    evaluate(session, NOV[19], ScreeningDays().add(home, days(NOV[15], NOV[19])))
    mine = [m for m in outbox.sent if m["payload"].get("area_id") == locked.id]
    assert [m["topic"] for m in mine] == ["zones.proposed", "zones.activated"]
    proposal, activation = mine
    assert proposal["audience_district_ids"] == [home.district_id]
    assert activation["audience_district_ids"] == [home.district_id, None]
    assert proposal["payload"]["building_code"] == home.code
    assert proposal["payload"]["policy_version"] == "2022-11-11"
    [due] = [m for m in outbox.sent if m["topic"] == "zones.lifting_proposed"]
    assert due["audience_district_ids"] == [home.district_id]
    assert due["payload"]["day"] == "2022-11-19"
    assert due["payload"]["areas"] == [
        {"area_id": locked.id, "building_code": home.code, "address_label": home.address_label}
    ]
    keys = [m["idempotency_key"] for m in outbox.sent]
    assert len(set(keys)) == len(keys)


def test_a_district_gets_one_notice_listing_its_areas_due_for_lifting(
    session: Session, protector: PersonalDataProtector, monkeypatch: pytest.MonkeyPatch
) -> None:
    outbox = Outbox()
    monkeypatch.setattr(adapters, "outbox_enqueue", lambda: outbox)
    homes = [building(session, "500112", i) for i in range(3)]
    screening = ScreeningDays()
    for home in homes:
        locked_by_a_surface_case(session, protector, home, NOV[14])
        screening.add(home, days(NOV[15], NOV[19]))
    evaluate(session, NOV[19], screening)
    [due] = [m for m in outbox.sent if m["topic"] == "zones.lifting_proposed"]
    assert [a["building_code"] for a in due["payload"]["areas"]] == [h.code for h in homes]


def test_a_step_reaches_the_real_outbox_in_the_same_transaction(
    session: Session, protector: PersonalDataProtector
) -> None:
    home = building(session, "500112", 1)
    locked = locked_by_a_surface_case(session, protector, home, NOV[14])
    sent = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.topic.like("zones.%"))
        .where(OutboxMessage.idempotency_key.like(f"zones:{locked.id}:%"))
        .order_by(OutboxMessage.id)
    ).all()
    # The proposal (to the district) and the approval (to the district and the command centre),
    # each written by the step's own flush: both are visible before the transaction commits.
    assert [m.topic for m in sent] == ["zones.proposed", "zones.activated"]
    assert all(m.payload["area_id"] == locked.id for m in sent)
    assert sent[1].payload["building_code"] == home.code


def test_the_evaluation_reads_the_days_it_needs_in_one_call_for_every_building(
    session: Session, protector: PersonalDataProtector
) -> None:
    homes = [building(session, "500113", i) for i in range(4)]
    for home in homes:
        locked_by_a_surface_case(session, protector, home, NOV[14])
    screening = ScreeningDays()
    for home in homes[:2]:
        screening.add(home, days(NOV[15], NOV[19]))
    proposed = evaluate(session, NOV[19], screening)
    assert screening.calls == 1
    assert sorted(proposed) == sorted(
        a.id for home in homes[:2] if (a := service.open_area_of(session, building_id=home.id))
    )


# --- with the screening domain's own screening results --------------------------------------------


def screened_every_morning(
    session: Session,
    protector: PersonalDataProtector,
    home: Building,
    outcomes: dict[date, str],
) -> None:
    """Two residents tested together each morning; the laboratory reports by 11:00."""
    from tests.factories import screening as lab

    site = lab.make_site(session, district_code="500103")
    residents = [resident(session, protector, home) for _ in range(2)]
    for day, outcome in outcomes.items():
        sampled = lab.tube(site, [p.id for p in residents], collected_at=at(day, 8))
        lab.register(session, sampled, now=at(day, 9))
        lab.report(
            session,
            lab.result(sampled.tube_code, outcome, reported_at=at(day, 11)),
            now=at(day, 12),
        )


def test_the_screening_domains_negative_rounds_count_as_clean_days(
    session: Session, protector: PersonalDataProtector
) -> None:
    home = building(session, "500103", 5)
    locked = area(session, home, status="active", active_from=NOV[14])
    screened_every_morning(
        session, protector, home, {day: "negative" for day in days(NOV[14], NOV[18])}
    )
    report = tasks.evaluate_day(session, day=NOV[18], now=at(NOV[18], 22), tz=TZ)
    assert report.screening == "screening"
    assert report.liftings_proposed == [locked.id]


def test_a_round_that_was_not_all_negative_does_not_count(
    session: Session, protector: PersonalDataProtector
) -> None:
    home = building(session, "500103", 4)
    area(session, home, status="active", active_from=NOV[14])
    outcomes = {day: "negative" for day in days(NOV[14], NOV[18])}
    outcomes[NOV[16]] = "invalid"
    screened_every_morning(session, protector, home, outcomes)
    report = tasks.evaluate_day(session, day=NOV[18], now=at(NOV[18], 22), tz=TZ)
    assert (report.screening, report.liftings_proposed) == ("screening", [])


def test_asking_only_about_possible_candidates_changes_no_decision(
    session: Session, protector: PersonalDataProtector
) -> None:
    """The evaluation skips buildings that cannot be due; the full countdown must agree."""
    import random

    from xietong.zones import countdown, rules

    rng = random.Random(7)
    homes = [building(session, code, i) for code in ("500151", "500152") for i in range(6)]
    screening = ScreeningDays()
    starts = []
    for home in homes:
        start = NOV[10] + timedelta(days=rng.randrange(0, 10))
        area(session, home, status="active", active_from=start)
        starts.append(start)
        screening.add(home, [d for d in days(NOV[10], NOV[25]) if rng.random() < 0.85])
        for d in days(NOV[10], NOV[25]):
            if rng.random() < 0.08:
                infection(session, protector, home, d, on_surface=False)
    rule = rules.LiftingRule(
        clean_days=5, requires_negative_screening=True, propose_on_surface_case=True
    )
    full = countdown.countdown_on(
        session,
        building_ids=[h.id for h in homes],
        countable_from=starts,
        day=NOV[22],
        rule=rule,
        source=screening,
    )
    report = tasks.evaluate_day(
        session, day=NOV[22], now=at(NOV[22], 22), tz=TZ, screening=screening
    )
    expected = {homes[i].id for i in range(len(homes)) if full.due[i]}
    proposed = {service.get_area(session, area_id=a).building_id for a in report.liftings_proposed}
    assert proposed == expected
    assert 0 < len(expected) < len(homes)


def test_a_source_of_buildings_screened_throughout_decides_as_the_source_of_days(
    session: Session, protector: PersonalDataProtector
) -> None:
    """The evaluation asks which buildings were negative on every day of the window; a source
    that answers that question itself (as a database can, in SQL) proposes the same areas."""
    import random

    rng = random.Random(11)
    homes = [building(session, code, i) for code in ("500153", "500154") for i in range(6)]
    screening = ScreeningDays()
    for home in homes:
        area(session, home, status="active", active_from=NOV[10] + timedelta(rng.randrange(9)))
        screening.add(home, [d for d in days(NOV[10], NOV[25]) if rng.random() < 0.9])
        if rng.random() < 0.3:
            day = NOV[10] + timedelta(rng.randrange(13))
            infection(session, protector, home, day, on_surface=False)
    asked: list[tuple[set[int], date, date]] = []

    def screened_throughout(
        session: Session, *, building_ids: Any, first_day: date, last_day: date
    ) -> set[int]:
        asked.append((set(building_ids), first_day, last_day))
        window = set(days(first_day, last_day))
        return {b for b in building_ids if window <= screening.negative.get(b, set())}

    decisions = []
    for by_days in (True, False):
        trial = session.begin_nested()
        report = tasks.evaluate_day(
            session,
            day=NOV[22],
            now=at(NOV[22], 22),
            tz=TZ,
            screening=screening if by_days else None,
            screened_throughout=None if by_days else screened_throughout,
        )
        decisions.append((report.screening, sorted(report.liftings_proposed)))
        trial.rollback()
    assert decisions[0] == decisions[1]
    assert decisions[0][0] == "given" and 0 < len(decisions[0][1]) < len(homes)
    [(buildings, first_day, last_day)] = asked
    assert (first_day, last_day) == (NOV[18], NOV[22])
    assert buildings <= {h.id for h in homes}
