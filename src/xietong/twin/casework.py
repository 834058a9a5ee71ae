"""The twin's field work through the cases, zones and resources services: clinics' cases
registered by field workers, classes corrected when symptoms show, close contacts traced (by
person where the district sees them, by national ID elsewhere) with their quarantine orders,
transmission links, releases at the end of an order, the districts' decisions on risk areas and
liftings, capacity reports when quarantine beds run short, and the mutual-aid plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

from xietong.areas import service as areas_service
from xietong.cases import service as cases_service
from xietong.cases.clusters import service as cluster_service
from xietong.cases.contacts.batch import ContactOfCase
from xietong.cases.links import batch as link_batch
from xietong.cases.links import proposals as link_proposals
from xietong.cases.models import Case, LinkProposal
from xietong.cases.quarantine import service as quarantine_service
from xietong.cases.schemas import CaseCreate, ContactCreate, LinkCreate
from xietong.core.principal import SYSTEM, Principal
from xietong.flows import contacts as contact_flow
from xietong.mutual_aid.orders import service as aid_orders
from xietong.mutual_aid.plans import service as aid_flows
from xietong.mutual_aid.schemas import PlanRequest
from xietong.resources import service as resources_service
from xietong.resources.schemas import CapacityReportIn
from xietong.twin import observe
from xietong.twin.city import birth_serials, city_streams, national_id_at
from xietong.twin.scene import Scene
from xietong.twin.screening import onset_day
from xietong.twin.world import SETTINGS
from xietong.zones import service as zones_service
from xietong.zones import tasks as zones_tasks

IntArray = npt.NDArray[np.int64]

COLLEAGUES_TRACED = 3  # workplace contacts traced per case, besides the whole household
LINKED_COMMUNITY_SHARE = 0.4  # community infections whose source the investigation finds
REJECTED_AREA_SHARE = 0.03  # proposals a district rejects (e.g. the building stands empty)
PLAN_EVERY_DAYS = 3  # the command centre plans mutual aid for three days at a time
FULL_BEDS = 0.9  # a district reports more beds when its facilities are this full
_PAGE = 1000
# What a field worker records for a contact living in another district: the interview's words
# (that district finds the person from the referral).
REPORTED_NAME = "密接"


def _pages(fetch: object) -> list[Case]:
    """Every page of a case listing (`fetch(offset)` returns one page)."""
    found: list[Case] = []
    while True:
        page, _ = fetch(len(found))  # type: ignore[operator]
        found += page
        if len(page) < _PAGE:
            return found


class NationalIds:
    """The persons' ID numbers, regenerated from the seed as a field worker would be told them."""

    def __init__(self, scene: Scene) -> None:
        _, ids_rng, _ = city_streams(scene.seed)
        self.birth, self.serial = birth_serials(ids_rng, scene.city.age)

    def of(self, index: int) -> str:
        return national_id_at(self.birth, self.serial, index)


# --- cases -----------------------------------------------------------------------------------


def field_cases(session: Session, scene: Scene, day: date, persons: IntArray) -> int:
    """Persons a fever clinic diagnosed today, registered as confirmed by the district."""
    city = scene.city
    is_case = observe.cases(session, city)
    made = 0
    for k, i in enumerate(persons.tolist()):
        if is_case[i]:
            continue
        district = int(city.current_district[i])
        at = scene.at(day, "10:00") + timedelta(minutes=3 * k)
        cases_service.create_case(
            session,
            principal=scene.field_worker(session, district),
            case_in=CaseCreate(
                person_id=city.person_id(i),
                classification="confirmed",
                detected_at=at,
                onset_day=onset_day(scene, i),
                note="fever clinic",
            ),
            now=at + timedelta(minutes=30),
            tz=scene.tz,
        )
        made += 1
    return made


def reclassify(session: Session, scene: Scene, day: date) -> int:
    """Screening cases whose symptoms have started are confirmed (a conversion after the day of
    report, a correction on it)."""
    city, truth = scene.city, scene.truth
    at = scene.at(day, "20:00")
    found = _pages(
        lambda offset: cases_service.list_cases(
            session,
            principal=SYSTEM,
            classification="asymptomatic",
            first_day=day - timedelta(days=14),
            last_day=day,
            limit=_PAGE,
            offset=offset,
        )
    )
    changed = 0
    for case in sorted(found, key=lambda c: c.id):
        i = case.person_id - city.first_person_id
        if not (0 <= i < city.size) or not truth.symptomatic[i] or onset_day(scene, i) > day:
            continue
        cases_service.reclassify_case(
            session,
            principal=scene.field_worker(session, case.report_district_id),
            case_id=case.id,
            classification="confirmed",
            at=at,
            tz=scene.tz,
        )
        changed += 1
    return changed


def trace(session: Session, scene: Scene, day: date, ids: NationalIds) -> dict[str, int]:
    """Contacts and links of the cases reported today, by the reporting district's field workers:
    a case's contacts as it is investigated, the district's links of the day together at the end."""
    city, truth = scene.city, scene.truth
    found = _pages(
        lambda offset: cases_service.list_cases(
            session, principal=SYSTEM, first_day=day, last_day=day, limit=_PAGE, offset=offset
        )
    )
    today = sorted(found, key=lambda c: c.id)
    index = observe.case_index(session, city)
    is_case = index.is_case()
    rng = scene.rng(day, 3)
    done = {"contacts": 0, "contacts_by_national_id": 0, "links": 0}
    chains: dict[int, Chains] = {}  # by tracing district, in the order of its first link
    codes = areas_service.district_code_by_id(session)
    by_household = np.argsort(city.household, kind="stable")
    households = city.household[by_household]
    by_workplace = np.argsort(city.workplace, kind="stable")
    workplaces = city.workplace[by_workplace]
    for k, case in enumerate(today):
        i = case.person_id - city.first_person_id
        if not 0 <= i < city.size:
            continue
        tracer = scene.field_worker(session, case.report_district_id)
        at = scene.at(day, "22:00") + timedelta(seconds=20 * k)
        h = city.household[i]
        home = by_household[
            np.searchsorted(households, h, "left") : np.searchsorted(households, h, "right")
        ]
        colleagues = np.empty(0, dtype=np.int64)
        if city.workplace[i] >= 0:
            w = city.workplace[i]
            colleagues = by_workplace[
                np.searchsorted(workplaces, w, "left") : np.searchsorted(workplaces, w, "right")
            ]
            colleagues = colleagues[colleagues != i]
            if colleagues.size > COLLEAGUES_TRACED:
                colleagues = np.sort(rng.choice(colleagues, COLLEAGUES_TRACED, replace=False))
        # A colleague who is also of the household is one contact, of the household.
        exposures = {int(c): "workplace" for c in colleagues}
        exposures.update({int(c): "household" for c in home if c != i})
        batch = []
        for contact, kind in sorted(exposures.items()):
            if is_case[contact]:
                continue
            sees = case.report_district_id in (
                int(city.residence_district[contact]),
                int(city.current_district[contact]),
            )
            batch.append(
                ContactOfCase(
                    case.id,
                    ContactCreate(
                        person_id=city.person_id(contact) if sees else None,
                        national_id=None if sees else ids.of(contact),
                        name=None if sees else REPORTED_NAME,
                        residence_district_code=None
                        if sees
                        else codes[int(city.residence_district[contact])],
                        exposure_kind=kind,
                        last_exposure_at=case.detected_at - timedelta(hours=2),
                        quarantine_starts_on=day + timedelta(days=1),
                    ),
                )
            )
            done["contacts"] += 1
            done["contacts_by_national_id"] += int(not sees)
        # Through the flow every entry point uses, the case's contacts as one batch: a contact
        # living in another district is referred there in the same transaction.
        contact_flow.register_contacts(
            session,
            principal=tracer,
            protector=scene.protector,
            contacts=batch,
            now=at,
            tz=scene.tz,
        )
        # The chain: this case's source if it is a case, and earlier cases it infected.
        source = int(truth.infector[i])
        targets = [(source, i)] if source >= 0 and is_case[source] else []
        infected = truth.infectees(i)
        infected = infected[is_case[infected] & (index.report_day[infected] < day.toordinal())]
        targets += [(i, int(t)) for t in infected]
        for s, t in targets:
            setting = SETTINGS[int(truth.setting[t])]
            if setting == "community" and rng.random() >= LINKED_COMMUNITY_SHARE:
                continue
            evidence_kind = setting if setting in ("household", "workplace") else "venue"
            entered = chains.setdefault(case.report_district_id, Chains(tracer, at))
            entered.at = at
            entered.links.append(
                LinkCreate(
                    source_case_id=int(index.case_id[s]),
                    target_case_id=int(index.case_id[t]),
                    evidence_kind=evidence_kind,
                    evidence=f"流调: {evidence_kind} exposure found by the investigation",
                )
            )
            done["links"] += 1
    for entered in chains.values():
        _link(session, scene, entered)
    return done


@dataclass
class Chains:
    """The links a district's field worker found in a day's investigations, entered together
    when the last of them is done."""

    tracer: Principal
    at: datetime  # the investigation of the district's last case with a link
    links: list[LinkCreate] = field(default_factory=list)


def _link(session: Session, scene: Scene, chains: Chains) -> None:
    """Enter a district's links of the day as one batch. The links of a day name each infectee
    once and form no cycle (they follow the outbreak's tree), so every order of entering them is
    refused nothing and makes the same links: the batch's order (the district's own links, then
    those it proposed) is as good as one investigation after another."""
    made = link_batch.link_cases(
        session, principal=chains.tracer, links=chains.links, now=chains.at
    )
    for answer in made:
        if isinstance(answer, LinkProposal) and answer.to_district_id is not None:
            # The other case's district checks the investigation's finding and confirms it.
            link_proposals.confirm(
                session,
                principal=scene.field_worker(session, answer.to_district_id),
                proposal_id=answer.id,
                now=chains.at,
            )


def release_orders(session: Session, scene: Scene, day: date) -> int:
    """Orders ending today whose last test was negative are released by their district."""
    released = 0
    while True:
        orders, _ = quarantine_service.list_orders(
            session, principal=SYSTEM, status="active", ending_on=day, limit=_PAGE
        )
        if not orders:
            return released
        for order in orders:
            last_test = date.fromisoformat(order.test_days[-1]) if order.test_days else day
            quarantine_service.release_order(
                session,
                principal=scene.coordinator(session, order.district_id),
                order_id=order.id,
                tested_at=scene.at(min(last_test, day), "09:00"),
                result="negative",
                released_at=scene.at(day, "20:00"),
                tz=scene.tz,
            )
            released += 1


def decide_clusters(session: Session, scene: Scene, day: date) -> dict[str, int]:
    """Each district confirms the clusters proposed at its buildings (cases sharing a place),
    and the clusters quiet for the policy's window are closed."""
    at = scene.at(day, "22:30")
    confirmed = 0
    while True:
        clusters, _ = cluster_service.list_clusters(
            session, principal=SYSTEM, status="proposed", today=day, limit=_PAGE
        )
        if not clusters:
            break
        for cluster in sorted(clusters, key=lambda c: c.id):
            cluster_service.decide_cluster(
                session,
                principal=scene.coordinator(session, cluster.district_id),
                cluster_id=cluster.id,
                decision="confirm",
                note="流调: cases linked at one place",
                now=at,
            )
            confirmed += 1
    closed = cluster_service.close_inactive_clusters(session, today=day, now=scene.clock.now())
    return {"clusters_confirmed": confirmed, "clusters_closed": len(closed)}


# --- risk areas --------------------------------------------------------------------------------


def decide_areas(session: Session, scene: Scene, day: date) -> dict[str, int]:
    """Each district decides on the areas proposed for it today."""
    rng = scene.rng(day, 4)
    at = scene.at(day, "23:00")
    done = {"areas_approved": 0, "areas_rejected": 0}
    while True:
        areas, _ = zones_service.list_areas(session, statuses=["proposed"], limit=_PAGE)
        if not areas:
            return done
        for area in sorted(areas, key=lambda a: a.id):
            who = scene.coordinator(session, area.district_id)
            if rng.random() < REJECTED_AREA_SHARE:
                zones_service.reject_area(
                    session,
                    principal=who,
                    area_id=area.id,
                    reason="the building was already sealed off by the community",
                    now=at,
                    tz=scene.tz,
                )
                done["areas_rejected"] += 1
            else:
                zones_service.approve_area(
                    session, principal=who, area_id=area.id, now=at, tz=scene.tz
                )
                done["areas_approved"] += 1


def evaluate_liftings(session: Session, scene: Scene, day: date) -> int:
    report = zones_tasks.evaluate_day(session, day=day, now=scene.at(day, "23:30"), tz=scene.tz)
    return len(report.liftings_proposed)


def approve_liftings(session: Session, scene: Scene, day: date) -> int:
    """Each district approves the liftings proposed last night (快解), before the day's plan."""
    at = scene.at(day, "06:05")
    lifted = 0
    while True:
        areas, _ = zones_service.list_areas(session, statuses=["lifting_proposed"], limit=_PAGE)
        if not areas:
            return lifted
        for area in sorted(areas, key=lambda a: a.id):
            zones_service.lift_area(
                session,
                principal=scene.coordinator(session, area.district_id),
                area_id=area.id,
                now=at,
                tz=scene.tz,
            )
            lifted += 1


# --- resources ---------------------------------------------------------------------------------


def report_more_beds(session: Session, scene: Scene, day: date) -> int:
    """A district whose quarantine facilities are nearly full reports half as many beds again."""
    at = scene.at(day, "06:15")
    used = quarantine_service.bed_occupancy(session, day=day)
    reported = 0
    for facility in resources_service.list_facilities(session, district_id=None, day=day):
        if facility.kind != "centralised_quarantine" or not facility.code.startswith(
            scene.prefix()
        ):
            continue
        district_id = {c: i for i, c in scene.city.district_codes.items()}[facility.district_code]
        in_use = used.get(district_id, {}).get("centralised_quarantine", 0)
        if facility.beds and in_use >= FULL_BEDS * facility.beds:
            resources_service.report_capacity(
                session,
                principal=scene.coordinator(session, district_id),
                reports=[
                    CapacityReportIn(
                        district_code=facility.district_code,
                        code=facility.code,
                        kind="centralised_quarantine",
                        capacity=int(facility.beds * 1.5) + 1,
                        note="a further hotel requisitioned as a quarantine site",
                    )
                ],
                now=at,
            )
            reported += 1
    return reported


def acknowledge_transfers(session: Session, scene: Scene, day: date) -> int:
    """Both districts of each transfer order acknowledge it in the morning."""
    at = scene.at(day, "06:10")
    done = 0
    ids = {c: i for i, c in scene.city.district_codes.items()}
    for status in ("issued", "partly_acknowledged"):
        orders, _ = aid_orders.list_orders(session, principal=SYSTEM, status=status, limit=10_000)
        for order in orders:
            ends = (
                (order.from_district_code, order.sender_acknowledged_at),
                (order.to_district_code, order.receiver_acknowledged_at),
            )
            for code, acknowledged in ends:
                if acknowledged is None:
                    aid_orders.acknowledge_order(
                        session,
                        principal=scene.coordinator(session, ids[code]),
                        order_id=order.id,
                        now=at,
                    )
                    done += 1
    return done


def mutual_aid(session: Session, scene: Scene, day: date, day_number: int) -> dict[str, int]:
    """Every few days the command centre plans the next days' transfers and approves them."""
    if day_number % PLAN_EVERY_DAYS != 0:
        return {}
    command = scene.command(session)
    plan = aid_flows.propose_plan(
        session,
        principal=command,
        request=PlanRequest(
            first_day=day + timedelta(days=1),
            days=PLAN_EVERY_DAYS,
            note="daily logistics meeting",
        ),
        tz=scene.tz,
        now=scene.at(day, "23:40"),
    )
    assert plan.id is not None
    _, orders = aid_flows.approve_plan(
        session, principal=command, plan_id=plan.id, now=scene.at(day, "23:45")
    )
    return {"aid_plans": 1, "transfer_orders": len(orders), "aid_unmet": plan.total_unmet}
