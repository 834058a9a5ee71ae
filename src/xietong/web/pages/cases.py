"""Points and lines on screen: the case list with filters (district, days, under control or on
the surface, classification) and its CSV, and one case with its contacts and their quarantine
orders, its chain drawn as a graph, and its building's risk area; a contact is registered from
the case page (its quarantine order, and its referral when it lives in another district).

Reads go through `cases.service` (`list_cases`, `get_case`, audited), `contact_service` and
`link_service.export_chain`; a contact is registered through `flows.contacts.register_contact`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from xietong.api.deps import SessionDep, get_protector
from xietong.cases import service as cases_service
from xietong.cases.clusters import service as cluster_service
from xietong.cases.contacts import service as contact_service
from xietong.cases.links import service as link_service
from xietong.cases.schemas import ChainRead, ContactCreate
from xietong.core.errors import DomainError, NotFound, RowError, ValidationFailed
from xietong.core.principal import Principal, Role
from xietong.flows import contacts as contact_flow
from xietong.web.export import csv_response
from xietong.web.form_errors import field_errors, labelled
from xietong.web.i18n import Language, translate
from xietong.web.pages.common import admit, already_sent, error_page, guard
from xietong.web.pages.listing import ExportableListPage
from xietong.web.rendering import render
from xietong.web.session import Viewer, ViewerDep, check_csrf
from xietong.zones import service as zones_service

router = APIRouter(include_in_schema=False)

CASE_ROLES = (Role.command, Role.district_coordinator, Role.field_worker)
EXPOSURES = ("household", "workplace", "venue", "transport", "care", "other")
SURFACE_FILTERS = ("all", "surface", "control")
CLASSES = ("all", "confirmed", "asymptomatic")
Text = Annotated[str, Form()]


def parse_day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _list(
    session: Session,
    principal: Principal,
    *,
    district: str | None,
    first: date | None,
    last: date | None,
    surface: str,
    classification: str,
    limit: int,
    offset: int,
) -> tuple[list[Any], int]:
    return cases_service.list_cases(
        session,
        principal=principal,
        district_code=district or None,
        first_day=first,
        last_day=last,
        classification=classification if classification in ("confirmed", "asymptomatic") else None,  # type: ignore[arg-type]
        on_surface={"surface": True, "control": False}.get(surface),
        limit=limit,
        offset=offset,
    )


@router.get("/cases")
def cases_page(
    listing: ExportableListPage,
    district: str | None = None,
    first: str | None = None,
    last: str | None = None,
    surface: str = "all",
    classification: str = "all",
) -> Response:
    session = listing.session
    filters = {
        "district": district,
        "first": first,
        "last": last,
        "surface": surface,
        "classification": classification,
    }

    def build(principal: Principal) -> Response:
        found, total = _list(
            session,
            principal,
            district=district,
            first=parse_day(first),
            last=parse_day(last),
            surface=surface if surface in SURFACE_FILTERS else "all",
            classification=classification,
            limit=listing.limit,
            offset=listing.offset,
        )
        reads = cases_service.to_reads(session, found)
        if listing.exporting:
            return csv_response(
                session,
                principal=principal,
                name="cases",
                header=[
                    "id",
                    "person_id",
                    "classification",
                    "report_day",
                    "report_district",
                    "residence_district",
                    "residence_building",
                    "found_building",
                    "found_under_control",
                    "control_reason",
                    "source",
                ],
                rows=[
                    [
                        c.id,
                        c.person_id,
                        c.classification,
                        c.report_day,
                        c.report_district_code,
                        c.residence_district_code,
                        c.residence_building_code,
                        c.found_building_code,
                        c.found_under_control,
                        c.control_reason,
                        c.source,
                    ]
                    for c in reads
                ],
                person_ids=[c.person_id for c in reads],
                detail={"district": district, "first": first, "last": last, "surface": surface},
            )
        context = {"surface_filters": SURFACE_FILTERS, "classes": CLASSES}
        return listing.render(
            "cases.html", listing.page(reads, total), filters=filters, context=context
        )

    return listing.guard(build, roles=CASE_ROLES)


def _chain(session: Session, principal: Principal, case_id: int) -> ChainRead | None:
    try:
        return link_service.export_chain(session, principal=principal, case_id=case_id)
    except NotFound:
        return None


def chain_layout(chain: ChainRead | None, width: int = 560) -> dict[str, Any]:
    """Positions for the chain's SVG: one column per generation, cases stacked in each."""
    if chain is None or not chain.nodes:
        return {"nodes": [], "edges": [], "width": width, "height": 0}
    columns: dict[int, list[int]] = {}
    for node in sorted(chain.nodes, key=lambda n: (n.generation, n.report_day, n.case_id)):
        columns.setdefault(node.generation, []).append(node.case_id)
    step_x = width / (len(columns) + 1)
    where: dict[int, tuple[float, float]] = {}
    for i, generation in enumerate(sorted(columns)):
        for j, case_id in enumerate(columns[generation]):
            where[case_id] = (step_x * (i + 1), 30 + 44 * j)
    height = 30 + 44 * max(len(ids) for ids in columns.values())
    nodes = [{"node": n, "x": where[n.case_id][0], "y": where[n.case_id][1]} for n in chain.nodes]
    edges = [
        {
            "edge": e,
            "x1": where[e.source][0],
            "y1": where[e.source][1],
            "x2": where[e.target][0],
            "y2": where[e.target][1],
        }
        for e in chain.edges
        if e.source in where and e.target in where
    ]
    return {"nodes": nodes, "edges": edges, "width": width, "height": height}


def _case_context(
    session: Session, viewer: Viewer, principal: Principal, request: Request, case_id: int
) -> dict[str, Any]:
    case = cases_service.get_case(session, principal=principal, case_id=case_id)
    read = cases_service.to_read(session, case)
    protector = get_protector(request)
    contacts = contact_service.contact_reads(
        session,
        contact_service.contacts_of_case(session, principal=principal, case_id=case_id),
        principal=principal,
        protector=protector,
    )
    area = None
    if read.found_building_code:
        place = zones_service.resolve_building(session, building_code=read.found_building_code)
        open_area = zones_service.open_area_of(session, building_id=place.id)
        if open_area is not None:
            area = zones_service.to_reads(session, [open_area])[0]
    chain = _chain(session, principal, case_id)
    clusters = cluster_service.clusters_of_case(session, principal=principal, case_id=case_id)
    return {
        "case": read,
        "clusters": [c.id for c in clusters],
        "contacts": contacts,
        "area": area,
        "chain": chain,
        "graph": chain_layout(chain),
        "exposures": EXPOSURES,
        "values": {},
        "errors": [],
    }


@router.get("/cases/{case_id}")
def case_page(case_id: int, request: Request, viewer: ViewerDep, session: SessionDep) -> Response:
    def build(principal: Principal) -> Response:
        context = _case_context(session, viewer, principal, request, case_id)
        return render(viewer, session, "case.html", context)

    return guard(viewer, session, build, roles=CASE_ROLES)


def _contact_labels(lang: Language) -> dict[str, str]:
    """The contact form's labels by the model's field (its errors name them)."""
    return {
        "national_id": translate(lang, "cases.national_id"),
        "name": translate(lang, "person.name"),
        "phone": translate(lang, "person.phone"),
        "residence_building_code": translate(lang, "cases.residence_building"),
        "residence_district_code": translate(lang, "cases.residence_district"),
        "exposure_kind": translate(lang, "cases.exposure"),
    }


@router.post("/cases/{case_id}/contacts")
def register_contact(
    case_id: int,
    request: Request,
    viewer: ViewerDep,
    session: SessionDep,
    csrf: Text = "",
    national_id: Text = "",
    name: Text = "",
    phone: Text = "",
    residence_building: Text = "",
    residence_district: Text = "",
    exposure_kind: Text = "",
    form_key: Text = "",
) -> Response:
    """A close contact registered from the case page: its order and, if elsewhere, referral."""
    principal = admit(viewer, session, roles=CASE_ROLES)
    if isinstance(principal, Response):
        return principal
    values = {
        "national_id": national_id,
        "name": name,
        "phone": phone,
        "residence_building": residence_building,
        "residence_district": residence_district,
        "exposure_kind": exposure_kind,
    }
    back = f"/cases/{case_id}#contacts"
    labels = _contact_labels(viewer.lang)
    errors: list[RowError] = []
    try:
        check_csrf(viewer, csrf)
        try:
            contact_in: ContactCreate | None = ContactCreate.model_validate(
                {
                    "national_id": national_id.strip() or None,
                    "name": name.strip() or None,
                    "phone": phone.strip() or None,
                    "residence_building_code": residence_building.strip() or None,
                    "residence_district_code": residence_district or None,
                    "exposure_kind": exposure_kind,
                }
            )
        except ValidationError as exc:
            contact_in = None
            errors = field_errors(exc, lang=viewer.lang, record="contact", labels=labels)
        if contact_in is not None:
            with session.begin_nested():
                if already_sent(viewer, session, form_key):
                    return RedirectResponse(back, status_code=303)
                contact_flow.register_contact(
                    session,
                    principal=principal,
                    protector=get_protector(request),
                    case_id=case_id,
                    contact_in=contact_in,
                    now=viewer.now,
                    tz=viewer.settings.timezone,
                )
    except ValidationFailed as refused:
        errors = labelled(refused.errors, lang=viewer.lang, labels=labels)
    except DomainError as exc:
        return error_page(viewer, session, exc)
    if errors:
        try:
            context = _case_context(session, viewer, principal, request, case_id)
        except DomainError as exc:
            return error_page(viewer, session, exc)
        context.update({"values": values, "errors": errors})
        return render(viewer, session, "case.html", context, status_code=422)
    return RedirectResponse(back, status_code=303)
