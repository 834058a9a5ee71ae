"""The chain list is counted in the database: on a random city of linked cases it gives what
building every chain from the links gives (`chains.chain_of_every_case`), for the city and for a
district, with the overview's open-chain filters and paging."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import date, timedelta

import pytest
from sqlalchemy.orm import Session

from tests.factories.cases import DAY, at, link, make_case
from xietong.areas import service as areas_service
from xietong.cases.links import chains
from xietong.cases.links import service as link_service
from xietong.cases.models import Case, TransmissionLink
from xietong.cases.schemas import ChainSummary
from xietong.core.principal import SYSTEM, Principal, Role
from xietong.people.models import Person
from xietong.people.protection import PersonalDataProtector

DISTRICTS = ("500106", "500107", "500108", "500103")


@pytest.fixture
def linked_city(session: Session, protector: PersonalDataProtector) -> list[Case]:
    """60 cases over 12 days in four districts, some living in another district than the one
    that reported them; most linked to an earlier-made case (so trees of many sizes and shapes,
    some crossing districts, and single cases)."""
    rng = random.Random(7)
    cases: list[Case] = []
    for _ in range(60):
        home = rng.choice(DISTRICTS)
        case = make_case(
            session,
            protector,
            district_code=home,
            report_district_code=home if rng.random() < 0.8 else rng.choice(DISTRICTS),
            detected_at=at(DAY + timedelta(days=rng.randrange(12))),
        )
        if cases and rng.random() < 0.7:
            link(session, rng.choice(cases[-15:]), case)
        cases.append(case)
    return cases


def expected(
    session: Session,
    *,
    district_id: int | None,
    min_cases: int = 2,
    crossing: bool = False,
    active_since: date | None = None,
    started_by: date | None = None,
) -> list[ChainSummary]:
    """Every chain built from all the links (a case without links is in none), then filtered:
    what the list must equal."""
    links = session.execute(
        TransmissionLink.__table__.select().with_only_columns(
            TransmissionLink.source_case_id,
            TransmissionLink.target_case_id,
            TransmissionLink.spillover,
        )
    ).all()
    info = {c.id: c for c in session.query(Case)}
    homes = dict(session.query(Person.id, Person.residence_district_id))
    linked = sorted({case_id for s, t, _ in links for case_id in (s, t)})
    chain_of = chains.chain_of_every_case(linked, [(s, t) for s, t, _ in links])
    members: dict[int, list[Case]] = defaultdict(list)
    for case_id, chain_id in chain_of.items():
        members[chain_id].append(info[case_id])
    spills: dict[int, int] = defaultdict(int)
    for source, _, spillover in links:
        spills[chain_of[source]] += int(spillover)
    codes = areas_service.district_code_by_id(session)
    found = []
    for chain_id, cases in members.items():
        reported = {c.report_district_id for c in cases}
        days = [c.report_day for c in cases]
        if (
            len(cases) < min_cases
            or (crossing and len(reported) < 2)
            or (active_since is not None and max(days) < active_since)
            or (started_by is not None and min(days) > started_by)
        ):
            continue
        if district_id is not None and not any(
            district_id in (c.report_district_id, homes[c.person_id]) for c in cases
        ):
            continue
        found.append(
            ChainSummary(
                chain_id=chain_id,
                cases=len(cases),
                districts=sorted(codes[d] for d in reported),
                spillover_links=spills[chain_id],
                first_report_day=min(days),
                last_report_day=max(days),
            )
        )
    return sorted(found, key=lambda s: (-s.cases, s.chain_id))


def test_the_listed_chains_are_those_built_from_every_link(
    session: Session, linked_city: list[Case]
) -> None:
    ids = {code: i for i, code in areas_service.district_code_by_id(session).items()}
    readers = [SYSTEM] + [
        Principal(0, "reader", Role.district_coordinator, ids[code]) for code in DISTRICTS
    ]
    filters: list[dict[str, object]] = [
        {},
        {"min_cases": 1},
        {"min_cases": 3},
        {"crossing": True},
        {"active_since": DAY + timedelta(days=8), "started_by": DAY + timedelta(days=9)},
        {"active_since": DAY + timedelta(days=11)},
        # Every case recent: every chain is open.
        {"active_since": DAY, "started_by": DAY + timedelta(days=11)},
        {"started_by": DAY + timedelta(days=2)},
    ]
    assert len(expected(session, district_id=None)) >= 5
    for reader in readers:
        for asked in filters:
            want = expected(session, district_id=reader.district_id, **asked)  # type: ignore[arg-type]
            options = {
                ("crossing_districts" if k == "crossing" else k): v for k, v in asked.items()
            }
            got, total = link_service.list_chains(
                session,
                principal=reader,
                limit=1_000,
                **options,  # type: ignore[arg-type]
            )
            assert (got, total) == (want, len(want)), (reader.district_id, asked)
            page, total = link_service.list_chains(
                session,
                principal=reader,
                limit=3,
                offset=2,
                **options,  # type: ignore[arg-type]
            )
            assert (page, total) == (want[2:5], len(want))
            beyond, total = link_service.list_chains(
                session,
                principal=reader,
                limit=3,
                offset=500,
                **options,  # type: ignore[arg-type]
            )
            assert (beyond, total) == ([], len(want))


def test_the_spillover_pairs_are_the_days_spillovers_summed_per_pair(
    session: Session, linked_city: list[Case]
) -> None:
    ids = {code: i for i, code in areas_service.district_code_by_id(session).items()}
    readers = [SYSTEM] + [
        Principal(0, "reader", Role.district_coordinator, ids[code]) for code in DISTRICTS
    ]
    first, last = DAY + timedelta(days=3), DAY + timedelta(days=9)
    for reader in readers:
        days = link_service.spillovers(session, principal=reader, first_day=first, last_day=last)
        summed: Counter[tuple[str, str]] = Counter()
        for row in days:
            summed[row.from_district_code, row.to_district_code] += row.links
        # Most links first; a tie in the order the pairs first spilled over.
        want = [(a, b, n) for (a, b), n in sorted(summed.items(), key=lambda kv: -kv[1])]
        got = link_service.spillover_pairs(
            session, principal=reader, first_day=first, last_day=last
        )
        assert got == want
        assert reader.district_id is not None or len(got) >= 3
