"""The twin's screening day through the screening services: the plan issued, swabs taken into pools
by building (and single tubes for quarantined contacts, fever clinics and people who ask for a
test), the sampling files registered by each district, the laboratories' result files sent
through the intake flow (which makes holds, retests, cases and referrals), and the single-tube
retests and resamples the results call for.

Swabs are grouped with NumPy over the whole city; the only per-row Python is writing the files.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TextIO

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

from xietong.core.principal import SYSTEM
from xietong.flows import intake
from xietong.flows import screening as screening_flow
from xietong.screening import service as screening_service
from xietong.twin import labs, observe
from xietong.twin.scene import DETECTABLE_FROM, DETECTABLE_UNTIL, ONSET_AFTER, Scene
from xietong.twin.world import groups

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

COVERAGE = 0.95  # share of the persons due who come to be swabbed
VOLUNTARY_SHARE = 0.15  # infected persons outside the day's screening who ask for a test
VOLUNTARY_NEGATIVE_SHARE = 0.001  # and uninfected ones, per day
TUBE_COLUMNS = "tube_code,site_code,collected_at,pool_size,person_id,kind,replaces_tube_code"
DELIVERY_SLOTS = ("14:00", "18:00")
RETEST_ROUNDS = (("15:30", "16:30", "17:30"), ("19:30", "20:30", "21:30"))  # swab, file, result
LATE_DELIVERY = "13:00"


@dataclass
class Swabs:
    """Tubes to register, row by row: tube index per swab, and each tube's attributes."""

    person: list[IntArray] = field(default_factory=list)
    tube: list[IntArray] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    sites: list[str] = field(default_factory=list)
    districts: list[int] = field(default_factory=list)
    pool_sizes: list[int] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    collected: list[datetime] = field(default_factory=list)
    replaces: list[str] = field(default_factory=list)

    def add_tubes(
        self,
        *,
        members: list[IntArray],
        codes: list[str],
        sites: list[str],
        districts: list[int],
        pool_sizes: list[int],
        kind: str,
        collected: list[datetime],
        replaces: list[str] | None = None,
    ) -> None:
        first = len(self.codes)
        for k, group in enumerate(members):
            self.person.append(group)
            self.tube.append(np.full(group.size, first + k, dtype=np.int64))
        self.codes += codes
        self.sites += sites
        self.districts += districts
        self.pool_sizes += pool_sizes
        self.kinds += [kind] * len(codes)
        self.collected += collected
        self.replaces += replaces or [""] * len(codes)

    @property
    def count(self) -> int:
        return len(self.codes)


def _spread(start: datetime, hours: float, count: int) -> list[datetime]:
    """`count` moments spread evenly over `hours` from `start`, to the minute."""
    if count == 0:
        return []
    step = hours * 60 / count
    return [start + timedelta(minutes=int(k * step)) for k in range(count)]


@contextmanager
def _file(rows: Iterator[str]) -> Iterator[TextIO]:
    """A sampling or result file on disk (a day of a large city does not fit a string)."""
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as handle:
        handle.writelines(rows)
        handle.seek(0)
        yield handle


def register(
    session: Session, scene: Scene, swabs: Swabs, *, now: datetime, by_district: bool = True
) -> dict[str, int]:
    """Upload the swabs, one row each: each district's sampling teams their own file, or (the
    clinics' and retest teams' single tubes) one city-wide file from the city's system."""
    totals = {"tubes": 0, "swabs": 0, "members_already_present": 0, "swabs_refused": 0}
    if swabs.count == 0:
        return totals
    person = np.concatenate(swabs.person)
    tube = np.concatenate(swabs.tube)
    district = np.array(swabs.districts, dtype=np.int64)[tube]
    if not by_district:
        district = np.full(tube.size, -1, dtype=np.int64)
    first = scene.city.first_person_id
    stamps = [c.isoformat() for c in swabs.collected]
    for district_id, rows in groups(district):
        order = rows[np.argsort(tube[rows], kind="stable")]

        def lines(order: IntArray = order) -> Iterator[str]:
            yield TUBE_COLUMNS + "\n"
            for t, p in zip(tube[order].tolist(), person[order].tolist(), strict=True):
                yield (
                    f"{swabs.codes[t]},{swabs.sites[t]},{stamps[t]},{swabs.pool_sizes[t]},"
                    f"{first + p},{swabs.kinds[t]},{swabs.replaces[t]}\n"
                )

        with _file(lines()) as stream:
            report = screening_service.register_tubes_file(
                session,
                principal=(
                    scene.field_worker(session, district_id)
                    if district_id >= 0
                    else scene.command(session)
                ),
                stream=stream,
                source_name=(
                    f"{scene.code(district_id) if district_id >= 0 else 'city'} sampling "
                    f"{now:%Y-%m-%d %H:%M}"
                ),
                tz=scene.tz,
                now=now,
                protector=scene.protector,
                expected_rows=int(order.size),
                # A swab refused (the person already has an open tube this round) is not taken;
                # the rest of the file stands, as at a real site.
                load_valid=True,
            )
        totals["tubes"] += report.tubes_added
        totals["swabs"] += report.members_added
        totals["members_already_present"] += report.members_already_present
        totals["swabs_refused"] += report.rows_rejected
    return totals


# --- the morning: plan and swabs ----------------------------------------------------------------


def morning(session: Session, scene: Scene, day: date) -> tuple[dict[str, int], IntArray]:
    """Issue the day's plan, take the swabs it asks for and those of quarantine and clinics, and
    register them; return what was done, and the persons whose symptoms began today that a
    clinic diagnoses without a swab of ours (for the field workers to register)."""
    city, truth = scene.city, scene.truth
    plan = screening_flow.issue_plan(
        session, principal=scene.command(session), day=day, now=scene.at(day, "06:30")
    )
    entries = screening_service.stored_entries(session, day=day)
    is_case = observe.cases(session, city)
    orders = observe.active_orders(session, city)
    in_quarantine = orders.isolated_on(city, day)
    waiting = observe.awaiting_retest(session, city)
    isolated = is_case | in_quarantine | waiting
    rng = scene.rng(day, 1)
    swabs = Swabs()
    n = 0

    # Screening: the persons staying in each building due today, in pools of its pool size.
    by_building = sorted((e.building_id, e.pool_size) for e in entries)
    planned = np.array([b for b, _ in by_building], dtype=np.int64)
    pool_sizes = np.array([p for _, p in by_building], dtype=np.int64)
    due = np.isin(city.current_building, planned) & ~isolated
    due &= rng.random(city.size) < COVERAGE
    screened = np.flatnonzero(due)
    if screened.size:
        # Neighbours queue together: by building, then household.
        order = np.lexsort((screened, city.household[screened], city.current_building[screened]))
        screened = screened[order]
        building = city.current_building[screened]
        pool = pool_sizes[np.searchsorted(planned, building)]
        new_building = np.r_[True, building[1:] != building[:-1]]
        start_of = np.maximum.accumulate(np.where(new_building, np.arange(screened.size), 0))
        rank = np.arange(screened.size) - start_of
        new_tube = new_building | (rank % pool == 0)
        cuts = np.flatnonzero(new_tube)
        members = np.split(screened, cuts[1:])
        heads = screened[cuts]
        streets = city.street_of(city.current_building[heads])
        districts = city.current_district[heads].tolist()
        collected: list[datetime] = [scene.at(day, "07:00")] * len(members)
        for _, tubes in groups(np.array(districts, dtype=np.int64)):
            moments = _spread(scene.at(day, "07:00"), 4.0, tubes.size)
            for k, t in enumerate(tubes.tolist()):
                collected[t] = moments[k]
        swabs.add_tubes(
            members=members,
            codes=[scene.tube_code("S", day, n + k) for k in range(len(members))],
            sites=[scene.street_site(city.street_codes[int(s)]) for s in streets.tolist()],
            districts=districts,
            pool_sizes=pool[cuts].tolist(),
            kind="screening",
            collected=collected,
        )
        n += len(members)

    done = register(session, scene, swabs, now=scene.at(day, "11:30"))
    swabs = Swabs()

    # Quarantined contacts: a single tube on each test day of their order, in its district.
    tested = [k for k, days in enumerate(orders.test_days) if day in days]
    quarantine = [orders.person[k : k + 1] for k in tested]
    swabs.add_tubes(
        members=quarantine,
        codes=[scene.tube_code("Q", day, n + k) for k in range(len(quarantine))],
        sites=[scene.clinic_site(orders.district_id[k]) for k in tested],
        districts=[orders.district_id[k] for k in tested],
        pool_sizes=[1] * len(quarantine),
        kind="screening",
        collected=_spread(scene.at(day, "08:00"), 2.0, len(quarantine)),
    )
    n += len(quarantine)

    # Fever clinics and tests on request: single tubes where the person stays.
    onset = _onset_today(scene, day)
    to_clinic = rng.random(city.size) < 0.5
    clinic = onset & ~isolated & ~due & to_clinic
    diagnosed = np.flatnonzero(onset & ~isolated & ~due & ~to_clinic)
    detectable = truth.detectable(day, first=DETECTABLE_FROM, last=DETECTABLE_UNTIL)
    outside = ~np.isin(city.current_building, planned)
    asking = (
        ~isolated
        & outside
        & (
            (detectable & (rng.random(city.size) < VOLUNTARY_SHARE))
            | (rng.random(city.size) < VOLUNTARY_NEGATIVE_SHARE)
        )
    )
    single = np.flatnonzero(clinic | asking)
    swabs.add_tubes(
        members=[single[k : k + 1] for k in range(single.size)],
        codes=[scene.tube_code("C", day, n + k) for k in range(single.size)],
        sites=[scene.clinic_site(int(d)) for d in city.current_district[single].tolist()],
        districts=city.current_district[single].tolist(),
        pool_sizes=[1] * int(single.size),
        kind="screening",
        collected=_spread(scene.at(day, "08:30"), 3.0, int(single.size)),
    )
    singles = register(session, scene, swabs, now=scene.at(day, "12:00"), by_district=False)
    for key, value in singles.items():
        done[key] += value
    return {
        "planned_buildings": len(entries),
        "high_risk_buildings": plan.high_risk_buildings,
        "screening_swabs": int(screened.size),
        "quarantine_tests": len(quarantine),
        "clinic_tests": int(single.size),
        **done,
    }, diagnosed


def _onset_today(scene: Scene, day: date) -> BoolArray:
    """Symptomatic persons whose symptoms start today (the onset lag drawn per person)."""
    truth = scene.truth
    lag = ONSET_AFTER[0] + (np.arange(scene.city.size) + scene.seed) % (
        ONSET_AFTER[1] - ONSET_AFTER[0] + 1
    )
    since = truth.day_index(day) - truth.infected_day
    onset: BoolArray = truth.symptomatic & (truth.infected_day >= 0) & (since == lag)
    return onset


def onset_day(scene: Scene, index: int) -> date:
    lag = ONSET_AFTER[0] + (index + scene.seed) % (ONSET_AFTER[1] - ONSET_AFTER[0] + 1)
    return scene.truth.day_of(index) + timedelta(days=int(lag))


# --- the laboratories ---------------------------------------------------------------------------


Advance = Callable[[Session, datetime], None]


def _ingest(
    session: Session, scene: Scene, delivery: labs.Delivery, *, source: str
) -> dict[str, int]:
    rejects: Path | None = None
    if scene.rejects_dir is not None and delivery.bad_rows:
        scene.rejects_dir.mkdir(parents=True, exist_ok=True)
        rejects = scene.rejects_dir / f"{source}-{delivery.at:%Y%m%dT%H%M}-rejects.csv"
    report = intake.ingest_lab_results(
        session,
        principal=scene.lab(session),
        tz=scene.tz,
        now=delivery.at,
        stream=io.StringIO(delivery.text()),
        source_name=f"{source} {delivery.name}",
        load_valid=True,
        rejects_path=rejects,
    )
    r = report.results
    return {
        "files": 1,
        "resent_files": int(delivery.resent),
        "rows": r.rows_read,
        "applied": r.applied,
        "unchanged": r.unchanged,
        "rejected": r.rows_rejected,
        "positive": r.positive,
        "pooled_positive": r.pooled_positive,
        "holds": r.holds,
        "case_candidates": r.case_candidates,
        "referral_needs": r.referral_needs,
        "resample_tasks": r.resample_tasks,
        "cases": int(report.followed_up.get("cases", {}).get("cases_created", 0)),
        "referrals": int(report.followed_up.get("referrals", {}).get("opened", 0)),
    }


def _labs(scene: Scene, districts: IntArray) -> IntArray:
    """The district of the laboratory each sample goes to."""
    return np.array([scene.lab_of.get(int(d), int(d)) for d in districts.tolist()], dtype=np.int64)


def _add(total: dict[str, int], part: dict[str, int]) -> None:
    for key, value in part.items():
        total[key] = total.get(key, 0) + value


def _results_for(
    scene: Scene, tubes: observe.Unresulted, rng: np.random.Generator, *, on: date
) -> labs.Results:
    detectable = scene.truth.detectable(on, first=DETECTABLE_FROM, last=DETECTABLE_UNTIL)
    person, tube = tubes.member_person, tubes.member_tube
    ours = (person >= 0) & (person < scene.city.size)
    hits = np.bincount(tube[ours], weights=detectable[person[ours]], minlength=len(tubes.codes))
    return labs.results_of(rng, codes=tubes.codes, positive=hits > 0, pooled=tubes.pooled)


def lab_day(session: Session, scene: Scene, day: date, advance: Advance) -> dict[str, int]:
    """Yesterday's late files, today's deliveries and two rounds of retests, in time order;
    `advance` lets the districts answer their referrals up to each moment."""
    total: dict[str, int] = {}
    rng = scene.rng(day, 2)

    # Files held over yesterday, and yesterday's rows that were bad, arrive corrected.
    late_at = scene.at(day, LATE_DELIVERY)
    advance(session, late_at)
    yesterday = day - timedelta(days=1)
    left = observe.unresulted_tubes(session, scene.city, day=yesterday)
    results = _results_for(scene, left, rng, on=yesterday)
    for district_id, rows in groups(_labs(scene, left.district_id)):
        lab = scene.lab_code(district_id)
        part = labs.Results(
            [results.codes[i] for i in rows],
            [results.outcome[i] for i in rows],
            [results.ct[i] for i in rows],
        )
        sent, _ = labs.deliveries(
            rng,
            lab=lab,
            results=part,
            slots=[late_at],
            name=f"{yesterday:%Y%m%d}-late",
            late_share=0.0,
            duplicate_share=0.0,
            bad_file_share=0.0,
        )
        for delivery in sent:
            done = _ingest(session, scene, delivery, source=lab)
            _add(total, {f"late_{k}": v for k, v in done.items()})

    # Today's tubes, each laboratory in two deliveries (with its imperfections).
    today = observe.unresulted_tubes(session, scene.city, day=day)
    results = _results_for(scene, today, rng, on=day)
    pending: list[labs.Delivery] = []
    held = 0
    for district_id, rows in groups(_labs(scene, today.district_id)):
        part = labs.Results(
            [results.codes[i] for i in rows],
            [results.outcome[i] for i in rows],
            [results.ct[i] for i in rows],
        )
        sent, late = labs.deliveries(
            rng,
            lab=scene.lab_code(district_id),
            results=part,
            slots=[scene.at(day, slot) for slot in DELIVERY_SLOTS],
            name=f"{day:%Y%m%d}",
        )
        pending += sent
        held += len(late)
    pending.sort(key=lambda d: (d.at, d.lab, d.resent))
    total["held_over_tubes"] = held
    total["bad_rows_sent"] = sum(d.bad_rows for d in pending)
    retests = [tuple(scene.at(day, hhmm) for hhmm in moments) for moments in RETEST_ROUNDS]
    for number, (swab_at, file_at, result_at) in enumerate(retests):
        while pending and pending[0].at <= swab_at:
            delivery = pending.pop(0)
            advance(session, delivery.at)
            _add(total, _ingest(session, scene, delivery, source=delivery.lab))
        advance(session, swab_at)
        _add(
            total,
            _retest_round(session, scene, day, number, (swab_at, file_at, result_at), rng, advance),
        )
    for delivery in pending:
        advance(session, delivery.at)
        _add(total, _ingest(session, scene, delivery, source=delivery.lab))
    return total


def _retest_round(
    session: Session,
    scene: Scene,
    day: date,
    number: int,
    moments: tuple[datetime, datetime, datetime],
    rng: np.random.Generator,
    advance: Advance,
) -> dict[str, int]:
    """Single tubes for the open retest tasks and new tubes for the invalid ones, registered in
    one city-wide file, then their results (the retest laboratory answers within the hour)."""
    city = scene.city
    swab_at, file_at, result_at = moments
    retest_people: list[int] = []
    retest_district: list[int] = []
    seen: set[int] = set()
    offset = 0
    district_ids = {code: i for i, code in city.district_codes.items()}
    while True:
        page, _ = screening_service.list_retest_tasks(
            session, principal=SYSTEM, status="open", limit=1000, offset=offset
        )
        for task in page:
            person = task.person_id - city.first_person_id
            if person not in seen:  # one retest however many of the person's pools were positive
                seen.add(person)
                retest_people.append(person)
                retest_district.append(district_ids[task.district_code])
        if len(page) < 1000:
            break
        offset += 1000
    resamples, _ = screening_service.list_resample_tasks(
        session, principal=SYSTEM, status="open", limit=10_000
    )
    is_case = observe.cases(session, city)
    swabs = Swabs()
    base = 1_000_000 * (1 + number)  # tube numbers of its own for each round
    keep = [k for k, p in enumerate(retest_people) if 0 <= p < city.size and not is_case[p]]
    swabs.add_tubes(
        members=[np.array([retest_people[k]], dtype=np.int64) for k in keep],
        codes=[scene.tube_code("R", day, base + k) for k in range(len(keep))],
        sites=[scene.clinic_site(retest_district[k]) for k in keep],
        districts=[retest_district[k] for k in keep],
        pool_sizes=[1] * len(keep),
        kind="retest",
        collected=_spread(swab_at, 0.75, len(keep)),
    )
    members = observe.members_of(session, city, tube_codes=[t.tube_code for t in resamples])
    redo = [
        (t, m[(m >= 0) & (m < city.size)])
        for t in resamples
        if (m := members.get(t.tube_code)) is not None
    ]
    redo = [(t, m[~is_case[m]]) for t, m in redo]
    redo = [(t, m) for t, m in redo if m.size]
    swabs.add_tubes(
        members=[m for _, m in redo],
        codes=[scene.tube_code("A", day, base + k) for k in range(len(redo))],
        sites=[t.site_code for t, _ in redo],
        districts=[district_ids[t.district_code] for t, _ in redo],
        pool_sizes=[max(t.member_count, int(m.size)) for t, m in redo],
        kind="resample",
        collected=_spread(swab_at, 0.75, len(redo)),
        replaces=[t.tube_code for t, _ in redo],
    )
    advance(session, file_at)
    done = register(session, scene, swabs, now=file_at, by_district=False)
    if swabs.count == 0:
        return {"retests": 0, "resamples": 0}
    detectable = scene.truth.detectable(day, first=DETECTABLE_FROM, last=DETECTABLE_UNTIL)
    positive = np.array([bool(detectable[m].any()) for m in swabs.person], dtype=np.bool_)
    results = labs.results_of(
        rng,
        codes=swabs.codes,
        positive=positive,
        pooled=np.array([s > 1 for s in swabs.pool_sizes], dtype=np.bool_),
        invalid_share=0.0,
    )
    total: dict[str, int] = {"retests": len(keep), "resamples": len(redo), **done}
    sent, _ = labs.deliveries(
        rng,
        lab=f"{scene.prefix()}-LAB-RETEST",
        results=results,
        slots=[result_at],
        name=f"{day:%Y%m%d}-retest-{result_at:%H%M}",
        late_share=0.0,
        duplicate_share=0.0,
        bad_file_share=0.0,
    )
    for delivery in sent:
        advance(session, delivery.at)
        outcome = _ingest(session, scene, delivery, source=delivery.lab)
        _add(total, {f"retest_{k}": v for k, v in outcome.items()})
    return total
