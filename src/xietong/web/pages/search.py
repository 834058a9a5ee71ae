"""One search box: a referral or a case by its number, a tube by its code, buildings by code or
address, and persons by the last four characters of their national ID or the last four digits
of their phone, each within what the user may see through the services (persons found are
audited by `people.search`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from xietong.api.deps import SessionDep, get_protector
from xietong.areas import service as areas_service
from xietong.cases import service as cases_service
from xietong.core.errors import DomainError
from xietong.core.principal import Permission, Principal, Role
from xietong.people import search as person_search
from xietong.referrals.inbox import service as query_service
from xietong.screening import service as screening_service
from xietong.web.pages.common import guard
from xietong.web.rendering import render
from xietong.web.session import Viewer, ViewerDep

router = APIRouter(include_in_schema=False)

REFERRAL_ROLES = (Role.command, Role.district_coordinator, Role.field_worker)


@dataclass
class Hits:
    referrals: list[Any] = field(default_factory=list)
    cases: list[Any] = field(default_factory=list)
    tubes: list[Any] = field(default_factory=list)
    buildings: list[Any] = field(default_factory=list)
    persons: list[Any] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(
            len(x) for x in (self.referrals, self.cases, self.tubes, self.buildings, self.persons)
        )


def _quiet(read: Any) -> Any:
    """A lookup that may find nothing (or nothing the user may see): None then."""
    try:
        return read()
    except DomainError:
        return None


def search(
    session: Session, viewer: Viewer, principal: Principal, request: Request, q: str
) -> Hits:
    hits = Hits()
    text = q.strip()
    if not text:
        return hits
    number = text.lstrip("#")
    if number.isdigit():
        if principal.role in REFERRAL_ROLES:
            found = _quiet(
                lambda: query_service.read_referral(
                    session,
                    principal=principal,
                    protector=get_protector(request),
                    referral_id=int(number),
                    now=viewer.now,
                )
            )
            if found is not None:
                hits.referrals.append(found)
        if principal.can(Permission.read_persons):
            case = _quiet(
                lambda: cases_service.get_case(
                    session, principal=principal, case_id=int(number), reason="search"
                )
            )
            if case is not None:
                hits.cases.append(cases_service.to_read(session, case))
    if principal.role is not Role.viewer:
        tube = _quiet(lambda: screening_service.get_tube(session, principal=principal, code=text))
        if tube is not None:
            hits.tubes.append(tube)
    if len(text) >= 2:
        hits.buildings = areas_service.find_buildings(
            session, text=text, district_id=principal.district_id
        )
    if principal.can(Permission.read_persons) and len(text) == 4:
        # Four characters read out by a caller: the end of a national ID, or of a phone number.
        hits.persons = person_search.find_by_id_tail(
            session, principal=principal, tail=text, at=viewer.now
        )
        known = {p.id for p in hits.persons}
        hits.persons += [
            p
            for p in person_search.find_by_phone_tail(
                session,
                principal=principal,
                protector=get_protector(request),
                tail=text,
                at=viewer.now,
            )
            if p.id not in known
        ]
    return hits


@router.get("/search")
def search_page(request: Request, viewer: ViewerDep, session: SessionDep, q: str = "") -> Response:
    def build(principal: Principal) -> Response:
        hits = search(session, viewer, principal, request, q[:100])
        return render(viewer, session, "search.html", {"q": q[:100], "hits": hits})

    return guard(viewer, session, build)
