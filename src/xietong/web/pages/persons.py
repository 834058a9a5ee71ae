"""A person's page: read through the people service, so it is scoped and audited like the API.

A district user asking for a person outside the district gets the same "not found" page as for
a person who does not exist: the record's existence is not disclosed.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from xietong.api.deps import SessionDep, get_protector
from xietong.core.clock import local_day
from xietong.core.principal import Principal
from xietong.people import service as people_service
from xietong.web.pages.common import guard
from xietong.web.rendering import render
from xietong.web.session import ViewerDep
from xietong.zones import status as zones_status

router = APIRouter(include_in_schema=False)


@router.get("/persons/{person_id}")
def person_page(
    person_id: int,
    request: Request,
    viewer: ViewerDep,
    session: SessionDep,
    reason: str | None = None,
) -> Response:
    protector = get_protector(request)

    def build(principal: Principal) -> Response:
        person = people_service.get_person(
            session, principal=principal, person_id=person_id, reason=reason or "dashboard"
        )
        shown = people_service.to_read(session, person, protector)
        risk = zones_status.person_status(
            session,
            principal=principal,
            person_id=person_id,
            today=local_day(viewer.now, viewer.settings.timezone),
            reason=reason or "dashboard",
        )
        return render(viewer, session, "person.html", {"person": shown, "risk": risk})

    return guard(viewer, session, build)
