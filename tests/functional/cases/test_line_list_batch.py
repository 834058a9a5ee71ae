"""A line list is registered as one batch, and the batch does what a row at a time does: the same
cases (classes, findings, places, clusters, links), contacts with their orders, beds and
referrals, audit and notices; it costs the same statements whatever its length; and a list of
contacts known only by name loaded again registers none of them twice."""

from __future__ import annotations

import io
from collections import Counter
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from tests.factories.auth import district_user
from tests.factories.cases import DAY, TZ, add_contact, at, make_case, person_at, residence_code
from tests.factories.people import make_person
from tests.factories.resources import facility as make_facility
from tests.functional.cases.test_batch_registration import _snapshot as case_snapshot
from tests.savepoints import undone
from xietong.auth.models import AuditEntry
from xietong.cases.contacts import service as contact_service
from xietong.cases.line_lists import LineListKind, LineListReport
from xietong.cases.models import (
    Case,
    CloseContact,
    ClusterMember,
    ContactReferralNeed,
    QuarantineOrder,
    TransmissionLink,
)
from xietong.cases.schemas import ContactCreate
from xietong.core.errors import Conflict, ValidationFailed
from xietong.core.principal import Principal
from xietong.flows.line_lists import import_line_list
from xietong.outbox.models import OutboxMessage
from xietong.people.models import Person
from xietong.people.protection import PersonalDataProtector
from xietong.referrals.models import Referral

HOME, ELSEWHERE = "500110", "500111"
NOW = at(DAY, 20)


def _load(
    session: Session,
    protector: PersonalDataProtector,
    principal: Principal,
    kind: LineListKind,
    text: str,
    *,
    by_row: bool = False,
    load_valid: bool = False,
) -> LineListReport:
    return import_line_list(
        session,
        principal=principal,
        protector=protector,
        kind=kind,
        stream=io.StringIO(text),
        now=NOW,
        tz=TZ,
        load_valid=load_valid,
        by_row=by_row,
    )


class _Scene:
    """A district's coordinator, a source case with a contact under quarantine, a cluster of two
    cases at another building, persons of the district and a person of another district."""

    def __init__(self, session: Session, protector: PersonalDataProtector, persons: int) -> None:
        self.principal, _ = district_user(session, HOME)
        self.buildings = [residence_code(session, HOME, k) for k in range(4)]
        make_facility(session, district_code=HOME, beds=1)
        make_facility(session, district_code=ELSEWHERE, beds=1)
        self.source = make_case(
            session, protector, person=person_at(session, protector, self.buildings[0])
        )
        clustered = [person_at(session, protector, self.buildings[3]) for _ in range(2)]
        first = make_case(session, protector, person=clustered[0])
        make_case(session, protector, person=clustered[1])
        self.cluster_id = session.scalars(
            select(ClusterMember.cluster_id).where(ClusterMember.case_id == first.id)
        ).one()
        self.persons = [
            person_at(session, protector, self.buildings[1 + k % 2]) for k in range(persons)
        ]
        self.contacts = [person_at(session, protector, self.buildings[2]) for _ in range(persons)]
        # The first person is a contact of the source, in quarantine: found under control.
        add_contact(session, protector, self.source, person=self.persons[0], starts_on=DAY)
        self.away = make_person(session, protector, district_code=ELSEWHERE)
        self.away_id = "110101197001017003"
        self.away.id_hash = protector.hash_id(self.away_id)
        session.flush()

    def cases_text(self, session: Session) -> str:
        lines = [
            "person_id,classification,detected_at,found_building_code,source_case_id,"
            "source_evidence_kind,source_evidence,cluster_id"
        ]
        for k, person in enumerate(self.persons):
            detected = (at(DAY, 8) + timedelta(minutes=7 * k)).isoformat()
            kind = ("confirmed", "asymptomatic")[k % 2]
            # Found in the cluster's building (proposed into it by place), never named into it.
            found = self.buildings[3] if k % 5 == 2 and k % 4 != 1 else ""
            source = f"{self.source.id},household,同住" if k % 3 == 0 else ",,"
            cluster = str(self.cluster_id) if k % 4 == 1 else ""
            lines.append(f"{person.id},{kind},{detected},{found},{source},{cluster}")
        return "\n".join(lines) + "\n"

    def contacts_text(self, session: Session, case_ids: list[int]) -> str:
        lines = [
            "case_id,person_id,national_id,name,phone,residence_district_code,"
            "residence_building_code,exposure_kind,quarantine_starts_on"
        ]
        for k, person in enumerate(self.contacts):
            case_id = case_ids[k % len(case_ids)]
            lines.append(f"{case_id},{person.id},,,,,,household,{DAY.isoformat()}")
            lines.append(f"{case_id},,,同事{k},1390000{k:04d},,{self.buildings[1]},workplace,")
        lines.append(f"{case_ids[0]},,{self.away_id},赵某,,{ELSEWHERE},,venue,")
        return "\n".join(lines) + "\n"


def _outcome(session: Session, protector: PersonalDataProtector, scene: _Scene) -> dict[str, Any]:
    """Everything the two lists wrote, keyed by persons and buildings, never by new ids."""
    outcome = case_snapshot(session, scene.persons)
    person_of = dict(session.execute(select(Case.id, Case.person_id)).all())
    hashes = {i: h.hex() for i, h in session.execute(select(Person.id, Person.id_hash))}

    def who(person_id: int | None) -> str | None:
        return None if person_id is None else hashes[person_id]

    key: dict[int, str] = {}
    contacts = []
    for c in session.scalars(select(CloseContact)):
        name = protector.decrypt_optional(c.name_enc)
        key[c.id] = repr((person_of[c.case_id], who(c.person_id), name))
        contacts.append(
            (
                key[c.id],
                protector.decrypt_optional(c.phone_enc),
                c.residence_district_id,
                c.residence_building_id,
                c.tracing_district_id,
                c.exposure_kind,
                c.registered_by,
                c.identified_at is not None,
            )
        )
    outcome["contacts"] = sorted(contacts)
    outcome["orders"] = sorted(
        (
            key[o.contact_id],
            who(o.person_id),
            o.district_id,
            o.facility_id,
            o.bed_from,
            o.status,
            o.starts_on,
            o.ends_on,
            tuple(o.test_days),
        )
        for o in session.scalars(select(QuarantineOrder))
    )
    outcome["needs"] = sorted(
        (key[n.contact_id], who(n.person_id), person_of[n.case_id], n.to_district_id)
        for n in session.scalars(select(ContactReferralNeed))
    )
    outcome["links"] = sorted(
        (
            person_of[x.source_case_id],
            person_of[x.target_case_id],
            x.evidence_kind,
            x.evidence,
            x.from_district_id,
            x.to_district_id,
            x.day,
            x.spillover,
            x.created_by,
        )
        for x in session.scalars(select(TransmissionLink))
    )
    outcome["referrals"] = sorted(
        (who(r.person_id), r.reason, r.from_district_id, r.to_district_id, r.status)
        for r in session.scalars(select(Referral))
    )

    def mapped(entity: str, entity_id: str) -> object:
        if entity == "case":
            return person_of.get(int(entity_id))
        if entity == "contact":
            return key.get(int(entity_id))
        return entity_id

    outcome["audit"] = Counter(
        (a.action, a.entity, a.username, mapped(a.entity, a.entity_id))
        for a in session.scalars(
            select(AuditEntry).where(AuditEntry.entity.in_(("case", "contact", "cluster")))
        )
    )
    notices = Counter()
    for m in session.scalars(select(OutboxMessage)):
        payload = {
            k: person_of.get(v) if k in ("case_id", "source_case_id", "target_case_id") else v
            for k, v in m.payload.items()
            if not (k.endswith("_id") and "case" not in k) and k not in ("number", "url")
        }
        notices[(m.topic, tuple(m.audience), repr(sorted(payload.items())))] += 1
    outcome["notices"] = notices
    return outcome


def _both_lists(
    session: Session, protector: PersonalDataProtector, scene: _Scene, *, by_row: bool
) -> tuple[LineListReport, LineListReport]:
    cases = _load(
        session, protector, scene.principal, "cases", scene.cases_text(session), by_row=by_row
    )
    case_ids = [scene.source.id, *cases.registered.values()]
    contacts = _load(
        session,
        protector,
        scene.principal,
        "contacts",
        scene.contacts_text(session, case_ids),
        by_row=by_row,
    )
    return cases, contacts


def test_a_line_list_in_one_batch_registers_what_a_row_at_a_time_does(
    session: Session, protector: PersonalDataProtector
) -> None:
    scene = _Scene(session, protector, persons=6)
    with undone(session):
        alone_reports = _both_lists(session, protector, scene, by_row=True)
        alone = _outcome(session, protector, scene)
    with undone(session):
        together_reports = _both_lists(session, protector, scene, by_row=False)
        together = _outcome(session, protector, scene)
    for one, other in zip(alone_reports, together_reports, strict=True):
        assert (one.rows_read, one.rows_loaded, one.rows_rejected) == (
            other.rows_read,
            other.rows_loaded,
            other.rows_rejected,
        )
        assert list(one.registered) == list(other.registered)
    assert alone["links"] and alone["referrals"] and alone["needs"]
    # Some orders wait for a bed: the beds are shared out in the same order.
    assert any(o[3] is None for o in alone["orders"]) and any(o[3] for o in alone["orders"])
    assert {k: together[k] for k in alone} == alone


def _statements(
    session: Session, protector: PersonalDataProtector, persons: int
) -> tuple[int, int]:
    """The statements of loading a cases list and a contacts list for `persons` persons."""
    counted = 0

    def count(*_: object) -> None:
        nonlocal counted
        counted += 1

    with undone(session):
        scene = _Scene(session, protector, persons=persons)
        engine = session.get_bind()
        event.listen(engine, "before_cursor_execute", count)
        try:
            cases = _load(session, protector, scene.principal, "cases", scene.cases_text(session))
            for_cases = counted
            contacts_text = scene.contacts_text(session, list(cases.registered.values()))
            counted = 0
            contacts = _load(session, protector, scene.principal, "contacts", contacts_text)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert cases.rows_loaded == persons and contacts.rows_loaded == 2 * persons + 1
    return for_cases, counted


def test_a_line_list_costs_the_same_statements_whatever_its_length(
    session: Session, protector: PersonalDataProtector
) -> None:
    assert _statements(session, protector, 24) == _statements(session, protector, 6)


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_contacts_known_only_by_name_loaded_again_are_not_registered_twice(
    session: Session, protector: PersonalDataProtector
) -> None:
    principal, _ = district_user(session, HOME)
    case = make_case(session, protector, district_code=HOME)
    building = residence_code(session, HOME, 1)
    text = (
        "case_id,name,phone,residence_building_code,residence_district_code,exposure_kind\n"
        f"{case.id},张某,13900001111,{building},,household\n"
        f"{case.id},李某,,,{HOME},workplace\n"
    )
    first = _load(session, protector, principal, "contacts", text)
    assert first.rows_loaded == 2
    before = _count(session, CloseContact), _count(session, QuarantineOrder)

    # The same list again (spaces aside): refused whole, each row named.
    with pytest.raises(ValidationFailed) as refused:
        _load(session, protector, principal, "contacts", text.replace("张某", " 张某 "))
    assert {(e.record, e.field) for e in refused.value.errors} == {
        ("line 2", "name"),
        ("line 3", "name"),
    }
    # Loading its valid rows registers only what is new: another phone is another person.
    grown = text + f"{case.id},张某,13900002222,{building},,household\n"
    again = _load(session, protector, principal, "contacts", grown, load_valid=True)
    assert (again.rows_loaded, again.rows_rejected, list(again.registered)) == (1, 2, [4])
    assert (_count(session, CloseContact), _count(session, QuarantineOrder)) == (
        before[0] + 1,
        before[1] + 1,
    )
    # Twice in one list: the second line is the first's repeat.
    twice = text.splitlines()[0] + "\n" + f"{case.id},王某,,,{HOME},venue\n" * 2
    with pytest.raises(ValidationFailed) as refused:
        _load(session, protector, principal, "contacts", twice)
    assert [(e.record, e.field) for e in refused.value.errors] == [("line 3", "name")]


def test_a_contact_registered_again_by_hand_is_refused_as_registered_already(
    session: Session, protector: PersonalDataProtector
) -> None:
    principal, _ = district_user(session, HOME)
    case = make_case(session, protector, district_code=HOME)
    away = make_person(session, protector, district_code=ELSEWHERE)
    away_id = "110101197001017011"
    away.id_hash = protector.hash_id(away_id)
    session.flush()
    by_name = ContactCreate(
        name="张某", phone="13900001111", residence_district_code=HOME, exposure_kind="household"
    )
    # A national ID the district may not see: kept as reported, matched behind the answer.
    by_id = ContactCreate(
        national_id=away_id, name="赵某", residence_district_code=ELSEWHERE, exposure_kind="venue"
    )
    for contact_in in (by_name, by_id):
        register = partial(
            contact_service.register_contact,
            session,
            principal=principal,
            protector=protector,
            case_id=case.id,
            contact_in=contact_in,
            now=NOW,
            tz=TZ,
        )
        register()
        with pytest.raises(Conflict) as again:
            register()
        assert again.value.code == "contact_exists"
    # Another phone is another contact.
    register_other = contact_service.register_contact(
        session,
        principal=principal,
        protector=protector,
        case_id=case.id,
        contact_in=by_name.model_copy(update={"phone": "13900002222"}),
        now=NOW,
        tz=TZ,
    )
    assert register_other.person_id is None
