"""The replay: the twin's outbreak lived day by day through the real services, from 1 November
2022, each step of each day in its own transaction and recorded when done (`TwinStep`), so that
a replay stopped midway loses at most the step it was in and a second run does nothing.

Steps: once, `outbreak` (the simulated infections, stored as ground truth) and `setup` (the demo
users, sampling sites, quarantine places and laboratories); then every day `morning` (liftings
approved, transfer orders acknowledged, beds reported, the screening plan issued, swabs taken and
registered, clinics' cases), `results` (laboratory files through the intake flow, retests and
resamples), `followup` (classes corrected, contacts traced and quarantined, links, releases, risk
areas decided and evaluated, mutual aid) and `close` (analytics refresh, the day's bulletin).
Referrals are answered by the districts whenever the clock moves (`desk`). docs/twin.md tells more.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from xietong.analytics import service as analytics_service
from xietong.analytics.models import DailyAggregate
from xietong.areas import service as areas_service
from xietong.cases.quarantine import service as quarantine_service
from xietong.core.clock import FixedClock
from xietong.core.principal import SYSTEM
from xietong.people.protection import PersonalDataProtector
from xietong.reports import service as reports_service
from xietong.resources import service as resources_service
from xietong.resources.schemas import CapacityReportIn, ResourceKind
from xietong.screening import service as screening_service
from xietong.screening.schemas import SiteCreate
from xietong.storage.bulk import bulk_insert
from xietong.storage.unit_of_work import bind_clock
from xietong.twin import casework, screening
from xietong.twin.desk import ReferralDesk
from xietong.twin.models import TwinInfection, TwinRun, TwinStep
from xietong.twin.scene import Scene
from xietong.twin.truth import simulate_city_outbreak
from xietong.twin.users import ensure_demo_users
from xietong.twin.world import City, load_city, load_truth

START_DAY = date(2022, 11, 1)
# The instant the replay's clock starts from: the city is built then, before any step.
REPLAY_STARTS = datetime.combine(START_DAY, time.min, tzinfo=UTC)
# The local time of a day's last step (the aggregates and the bulletin): nothing the replay writes
# for a day is later, so a server serving the replay starts its clock there, never behind a record.
DAY_CLOSES_AT = "23:59"
HORIZON_DAYS = 30  # the outbreak is simulated for November; a replay covers any prefix of it
DAY_STAGES = ("morning", "results", "followup", "close")
# Places each district reports on the first morning, per resident of the simulated city.
BEDS_PER_RESIDENT = 0.003
HOME_PLACES_PER_RESIDENT = 0.01
HOSPITAL_BEDS_PER_RESIDENT = 0.001
# Laboratories: one per this many simulated persons, in the most populous central urban
# districts, each able to test a tenth (in tubes) of its region's residents' swabs every other
# day with a fifth to spare.
PERSONS_PER_LABORATORY = 40_000
TUBES_PER_RESIDENT = 0.06

Work = Callable[[], AbstractContextManager[Session]]
Progress = Callable[[str, int, int], None]


@dataclass
class ReplayReport:
    run_id: int
    days: list[date]
    steps_run: int = 0
    steps_skipped: int = 0
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)


def laboratories(session: Session, city: City) -> dict[int, int]:
    """District → the district whose laboratory tests its samples: the most populous central
    urban districts have one each (one per `PERSONS_PER_LABORATORY` simulated persons, at least
    two), every other district sends its samples to the nearest of them."""
    central = sorted(
        (d for d in areas_service.list_districts(session) if d.central_urban),
        key=lambda d: (-(d.population or 0), d.code),
    )
    count = max(2, min(len(central), round(city.size / PERSONS_PER_LABORATORY)))
    labs = sorted(d.id for d in central[:count])
    km = areas_service.distance_matrix(session)
    at = {c: k for k, c in enumerate(km.codes)}

    def distance(a: int, b: int) -> float:
        return float(km.km[at[city.district_codes[a]]][at[city.district_codes[b]]])

    return {
        d: d if d in labs else min(labs, key=lambda lab: (distance(d, lab), lab))
        for d in city.district_codes
    }


def day_closes(day: date, tz: str) -> datetime:
    """The instant a replayed day's last step is taken: a server serving a replay up to `day`
    starts its clock here, so that nothing the replay wrote is later than its now."""
    return datetime.combine(day, time.fromisoformat(DAY_CLOSES_AT), tzinfo=ZoneInfo(tz))


def replay_days(days: int) -> list[date]:
    if not 1 <= days <= HORIZON_DAYS:
        raise ValueError(f"days: must be 1..{HORIZON_DAYS} (the simulated November)")
    return [START_DAY + timedelta(days=d) for d in range(days)]


def steps_done(session: Session, run_id: int) -> set[tuple[date, str]]:
    return {
        (d, s)
        for d, s in session.execute(
            select(TwinStep.day, TwinStep.stage).where(TwinStep.run_id == run_id)
        )
    }


class Replay:
    """One replay of one twin run; `run` does whichever steps are not done yet."""

    def __init__(
        self,
        work: Work,
        *,
        run_id: int,
        protector: PersonalDataProtector,
        tz: str,
        rejects_dir: Path | None = None,
        intensity: float = 1.0,
    ) -> None:
        self.work = work
        self.intensity = intensity
        self.run_id = run_id
        self.protector = protector
        self.tz = tz
        self.rejects_dir = rejects_dir
        self._city: City | None = None
        self._scene: Scene | None = None
        self._desk: ReferralDesk | None = None
        self._ids: casework.NationalIds | None = None
        # The replay's one clock: every step runs at its simulated time, audit rows included.
        self.clock = FixedClock(REPLAY_STARTS)

    # --- bookkeeping ---------------------------------------------------------------------------

    def run(self, *, days: int, progress: Progress | None = None) -> ReplayReport:
        wanted = replay_days(days)
        report = ReplayReport(self.run_id, wanted)
        with self.work() as session:
            done = steps_done(session, self.run_id)
        plan: list[tuple[date, str]] = [(START_DAY, "outbreak"), (START_DAY, "setup")]
        plan += [(day, stage) for day in wanted for stage in DAY_STAGES]
        for n, (day, stage) in enumerate(plan):
            if progress:
                progress(f"{day:%d %b} {stage}", n, len(plan))
            if (day, stage) in done:
                report.steps_skipped += 1
                continue
            with self.work() as session:
                bind_clock(session, self.clock)
                summary = self._step(session, day, stage)
                session.add(
                    TwinStep(
                        run_id=self.run_id,
                        day=day,
                        stage=stage,
                        simulated_at=self.scene(session).clock.now(),
                        summary=summary,
                    )
                )
                if stage == DAY_STAGES[-1]:
                    session.execute(
                        update(TwinRun)
                        .where(TwinRun.id == self.run_id)
                        .values(days_replayed=(day - START_DAY).days + 1, last_day=day)
                    )
            report.steps_run += 1
            report.summaries[f"{day.isoformat()} {stage}"] = summary
        if progress:
            progress("done", len(plan), len(plan))
        return report

    def city(self, session: Session) -> City:
        """The city's persons, read once per replay (persons do not move while it runs)."""
        if self._city is None:
            run = session.get(TwinRun, self.run_id)
            if run is None:
                raise RuntimeError(f"no twin run {self.run_id}")
            self._city = load_city(session, run)
        return self._city

    def scene(self, session: Session) -> Scene:
        if self._scene is None:
            run = session.get(TwinRun, self.run_id)
            assert run is not None
            city = self.city(session)
            lab_of = laboratories(session, city)
            self._scene = Scene(
                city=city,
                truth=load_truth(session, city, START_DAY),
                seed=run.seed,
                tz=self.tz,
                protector=self.protector,
                clock=self.clock,
                lab_of=lab_of,
                rejects_dir=self.rejects_dir,
            )
        return self._scene

    def _step(self, session: Session, day: date, stage: str) -> dict[str, Any]:
        if stage == "outbreak":
            return self._outbreak(session)
        scene = self.scene(session)
        if stage == "setup":
            return self._setup(session, scene)
        if self._desk is None:
            self._desk = ReferralDesk(scene)
        self._desk.begin()
        summary: dict[str, Any] = getattr(self, f"_{stage}")(session, scene, day)
        summary.update({f"referrals_{k}": v for k, v in self._desk.done.items()})
        return summary

    # --- once ----------------------------------------------------------------------------------

    def _outbreak(self, session: Session) -> dict[str, Any]:
        """Simulate who infects whom over November and store it (the replay's ground truth)."""
        run = session.get(TwinRun, self.run_id)
        assert run is not None
        city = self.city(session)
        infections = simulate_city_outbreak(
            session,
            city,
            seed=run.seed,
            start=START_DAY,
            days=HORIZON_DAYS,
            intensity=self.intensity,
        )
        bulk_insert(
            session,
            TwinInfection.__table__,  # type: ignore[arg-type]
            ["person_id", "run_id", "infected_on", "infector_id", "setting", "symptomatic"],
            (
                (
                    city.person_id(p),
                    run.id,
                    START_DAY + timedelta(days=int(d)),
                    city.person_id(s) if s >= 0 else None,
                    str(where),
                    bool(symptoms),
                )
                for p, d, s, where, symptoms in zip(
                    infections.person.tolist(),
                    infections.day.tolist(),
                    infections.infector.tolist(),
                    infections.setting.tolist(),
                    infections.symptomatic.tolist(),
                    strict=True,
                )
            ),
        )
        return {"infections": int(infections.person.size), "intensity": self.intensity}

    def _setup(self, session: Session, scene: Scene) -> dict[str, Any]:
        """The people who act, where swabs are taken, and the places districts report."""
        users = ensure_demo_users(session)
        city = scene.city
        at = scene.at(START_DAY, "00:30")
        sites = 0
        existing = {s.code for s in screening_service.list_sites(session, principal=SYSTEM)}
        streets = sorted(
            {int(s) for s in city.street_of(np.unique(city.current_building)).tolist()}
        )
        district_of_street = {
            int(s): int(d)
            for s, d in zip(
                city.building_street.tolist(), city.building_district.tolist(), strict=True
            )
        }
        wanted = [
            (scene.street_site(city.street_codes[s]), district_of_street[s], "核酸采样点")
            for s in streets
            if s in city.street_codes
        ] + [(scene.clinic_site(d), d, "发热门诊及单采点") for d in sorted(city.district_codes)]
        for code, district_id, name in wanted:
            if code in existing:
                continue
            screening_service.create_site(
                session,
                principal=scene.coordinator(session, district_id),
                site_in=SiteCreate(code=code, name=name, district_code=scene.code(district_id)),
                now=at,
            )
            sites += 1
        residents = np.bincount(
            np.searchsorted(sorted(city.district_codes), city.residence_district),
            minlength=len(city.district_codes),
        )
        central = {d.id for d in areas_service.list_districts(session) if d.central_urban}
        region = dict.fromkeys(city.district_codes, 0)
        for k, district_id in enumerate(sorted(city.district_codes)):
            if district_id in central:
                region[scene.lab_of[district_id]] += int(residents[k])
        reports = 0
        for k, district_id in enumerate(sorted(city.district_codes)):
            people = int(residents[k])
            code = scene.code(district_id)
            places: list[tuple[str, ResourceKind, str, float]] = [
                ("QF", "centralised_quarantine", "集中隔离点", BEDS_PER_RESIDENT),
                ("HI", "home_isolation", "居家隔离", HOME_PLACES_PER_RESIDENT),
            ]
            if district_id in central:
                places.append(("MH", "makeshift_hospital", "方舱医院", HOSPITAL_BEDS_PER_RESIDENT))
            if scene.lab_of[district_id] == district_id:
                share = TUBES_PER_RESIDENT * region[district_id] / max(people, 1)
                places.append(("LAB", "laboratory", "核酸检测实验室", share))
            resources_service.report_capacity(
                session,
                principal=scene.coordinator(session, district_id),
                reports=[
                    CapacityReportIn(
                        district_code=code,
                        code=f"{scene.prefix()}-{short}-{code}",
                        kind=kind,
                        name=f"{code} {name}",
                        capacity=max(5, round(people * float(share))),
                    )
                    for short, kind, name, share in places
                ],
                now=at,
            )
            reports += len(places)
        return {"users": len(users), "sites": sites, "capacity_reports": reports}

    # --- every day -----------------------------------------------------------------------------

    def _advance(self, session: Session, until: datetime) -> None:
        assert self._desk is not None
        self._desk.advance(session, until)

    def _morning(self, session: Session, scene: Scene, day: date) -> dict[str, Any]:
        self._advance(session, scene.at(day, "06:00"))
        summary: dict[str, Any] = {
            "liftings_approved": casework.approve_liftings(session, scene, day),
            "transfer_acknowledgements": casework.acknowledge_transfers(session, scene, day),
        }
        quarantine_service.assign_waiting_orders(session, today=day, now=scene.clock.now())
        summary["bed_reports"] = casework.report_more_beds(session, scene, day)
        swabs, diagnosed = screening.morning(session, scene, day)
        summary.update(swabs)
        self._advance(session, scene.at(day, "10:00"))
        summary["field_cases"] = casework.field_cases(session, scene, day, diagnosed)
        self._advance(session, scene.at(day, "12:00"))
        return summary

    def _results(self, session: Session, scene: Scene, day: date) -> dict[str, Any]:
        summary = screening.lab_day(session, scene, day, self._advance)
        self._advance(session, scene.at(day, "22:00"))
        return summary

    def _followup(self, session: Session, scene: Scene, day: date) -> dict[str, Any]:
        if self._ids is None:
            self._ids = casework.NationalIds(scene)
        summary: dict[str, Any] = {
            "reclassified": casework.reclassify(session, scene, day),
            "released": casework.release_orders(session, scene, day),
        }
        summary.update(casework.trace(session, scene, day, self._ids))
        summary.update(casework.decide_clusters(session, scene, day))
        self._advance(session, scene.at(day, "23:00"))
        summary.update(casework.decide_areas(session, scene, day))
        summary["liftings_proposed"] = casework.evaluate_liftings(session, scene, day)
        summary.update(casework.mutual_aid(session, scene, day, (day - START_DAY).days))
        self._advance(session, scene.at(day, "23:50"))
        return summary

    def _close(self, session: Session, scene: Scene, day: date) -> dict[str, Any]:
        at = scene.at(day, DAY_CLOSES_AT)
        analytics_service.refresh_aggregates(session, now=at, tz=scene.tz)
        bulletin = reports_service.bulletin(session, day=day, tz=scene.tz, lang="en")
        return {
            "new_confirmed": bulletin.new_confirmed,
            "new_asymptomatic": bulletin.new_asymptomatic,
            "conversions": bulletin.conversions,
            "found_under_control": bulletin.found_under_control,
            "found_on_surface": bulletin.found_on_surface,
            "bulletin": bulletin.text,
        }


def replay(
    work: Work,
    *,
    run_id: int,
    days: int,
    protector: PersonalDataProtector,
    tz: str,
    rejects_dir: Path | None = None,
    progress: Progress | None = None,
    intensity: float = 1.0,
) -> ReplayReport:
    """Replay the first `days` days of November 2022 for a built twin (resuming if stopped).

    `intensity` multiplies the outbreak (simulated once per run, at its first replay): small
    test cities use it to have daily counts worth comparing with the reference curve.
    """
    return Replay(
        work,
        run_id=run_id,
        protector=protector,
        tz=tz,
        rejects_dir=rejects_dir,
        intensity=intensity,
    ).run(days=days, progress=progress)


def daily_counts(session: Session, *, days: list[date]) -> list[int]:
    """New infections reported per day, city-wide, from the daily aggregates: confirmed plus
    asymptomatic, less the day's conversions (counted among the confirmed, never as new)."""
    rows = dict(
        session.execute(
            select(
                DailyAggregate.day,
                func.sum(DailyAggregate.new_confirmed)
                + func.sum(DailyAggregate.new_asymptomatic)
                - func.sum(DailyAggregate.conversions),
            )
            .where(DailyAggregate.day.in_(days))
            .group_by(DailyAggregate.day)
        ).all()
    )
    return [int(rows.get(d) or 0) for d in days]
