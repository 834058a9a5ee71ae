"""Routes of cases, clusters, links and chains, contacts and quarantine, scoped like persons."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse

from xietong.areas import service as areas_service
from xietong.auth.dependencies import PrincipalDep, ProtectorDep, SettingsDep
from xietong.cases import (
    cluster_service,
    contact_service,
    link_proposals,
    link_service,
    metrics,
    quarantine_service,
    service,
)
from xietong.cases.models import LinkProposal
from xietong.cases.schemas import (
    CaseCreate,
    CaseRead,
    ChainRead,
    ChainSummary,
    Classification,
    ClusterDecision,
    ClusterFilter,
    ClusterRead,
    ContactCreate,
    ContactIdentify,
    ContactRead,
    DaySummary,
    DistrictDay,
    LinkCreate,
    LinkProposalRead,
    LinkRead,
    OccupancyRead,
    PlaceCreate,
    PlaceRead,
    QuarantineOrderRead,
    QuarantineRelease,
    Reclassify,
    SpilloverRead,
)
from xietong.core.clock import local_day, utcnow
from xietong.core.errors import RowError, ValidationFailed
from xietong.core.pagination import MAX_PAGE_SIZE, Page
from xietong.core.principal import Permission
from xietong.flows import contacts as contact_flows
from xietong.people.service import require
from xietong.storage.dependencies import SessionDep

router = APIRouter(prefix="/api/cases", tags=["cases"])

Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0)]


def _today(settings: SettingsDep) -> date:
    return local_day(utcnow(), settings.timezone)


# --- cases -----------------------------------------------------------------------------------


@router.post("", status_code=status.HTTP_201_CREATED, summary="Register a case (field worker)")
def create_case(
    case_in: CaseCreate, session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> CaseRead:
    case = service.create_case(session, principal=principal, case_in=case_in, tz=settings.timezone)
    return service.to_read(session, case)


@router.get("", summary="Cases in your jurisdiction, newest report first")
def list_cases(
    session: SessionDep,
    principal: PrincipalDep,
    district: str | None = None,
    first_day: date | None = None,
    last_day: date | None = None,
    classification: Classification | None = None,
    on_surface: bool | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[CaseRead]:
    cases, total = service.list_cases(
        session,
        principal=principal,
        district_code=district,
        first_day=first_day,
        last_day=last_day,
        classification=classification,
        on_surface=on_surface,
        limit=limit,
        offset=offset,
    )
    return Page(items=service.to_reads(session, cases), total=total, limit=limit, offset=offset)


@router.get("/summary", summary="A day's figures per district, as the bulletin counts them")
def day_summary(
    session: SessionDep, principal: PrincipalDep, settings: SettingsDep, day: date
) -> DaySummary:
    require(principal, Permission.read_persons)
    codes = areas_service.district_code_by_id(session)
    districts = [principal.district_id] if principal.district_id is not None else sorted(codes)
    figures = metrics.daily_metrics(
        session, cells=[(d, day) for d in districts], tz=settings.timezone
    )
    rows = [DistrictDay.of(codes[d], figures[(d, day)]) for d in districts]
    return DaySummary(
        day=day,
        districts=[row for row in rows if row.has_figures()],
        total=DistrictDay.total(rows),
    )


# --- clusters --------------------------------------------------------------------------------


@router.get("/clusters", summary="Clusters (points) of your jurisdiction")
def list_clusters(
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    status: ClusterFilter | None = None,
    district: str | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[ClusterRead]:
    today = _today(settings)
    clusters, total = cluster_service.list_clusters(
        session,
        principal=principal,
        status=status,
        district_code=district,
        today=today,
        limit=limit,
        offset=offset,
    )
    return Page(
        items=cluster_service.to_reads(session, clusters, today=today),
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/clusters/{cluster_id}", summary="One cluster with its cases")
def get_cluster(
    cluster_id: int, session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> ClusterRead:
    cluster = cluster_service.get_cluster(session, principal=principal, cluster_id=cluster_id)
    return cluster_service.to_reads(session, [cluster], today=_today(settings))[0]


@router.post("/clusters/{cluster_id}/{decision}", summary="Confirm or reject a proposed cluster")
def decide_cluster(
    cluster_id: int,
    decision: cluster_service.Decision,
    decision_in: ClusterDecision,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
) -> ClusterRead:
    cluster = cluster_service.decide_cluster(
        session,
        principal=principal,
        cluster_id=cluster_id,
        decision=decision,
        note=decision_in.note,
    )
    return cluster_service.to_reads(session, [cluster], today=_today(settings))[0]


@router.post(
    "/clusters/{cluster_id}/members/{case_id}/{decision}",
    summary="Confirm or reject one case's membership of a cluster",
)
def decide_member(
    cluster_id: int,
    case_id: int,
    decision: cluster_service.Decision,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
) -> ClusterRead:
    cluster = cluster_service.decide_member(
        session, principal=principal, cluster_id=cluster_id, case_id=case_id, decision=decision
    )
    return cluster_service.to_reads(session, [cluster], today=_today(settings))[0]


# --- links, chains, spillovers ---------------------------------------------------------------


@router.post(
    "/links",
    status_code=status.HTTP_201_CREATED,
    summary="Link an infectee to its source (a case you may not see: proposed to its district)",
    response_model=LinkRead,
    responses={202: {"model": LinkProposalRead, "description": "Proposed to the other district"}},
)
def create_link(link_in: LinkCreate, session: SessionDep, principal: PrincipalDep) -> Any:
    link = link_service.create_link(session, principal=principal, link_in=link_in)
    if isinstance(link, LinkProposal):
        proposal = link_proposals.proposal_reads(session, [link], principal=principal)[0]
        return JSONResponse(proposal.model_dump(mode="json"), status_code=202)
    return link_service.link_reads(session, [link])[0]


@router.get("/link-proposals", summary="Links proposed to your district (or by it) to decide")
def list_link_proposals(
    session: SessionDep,
    principal: PrincipalDep,
    incoming: bool = True,
    state: Annotated[
        Literal["proposed", "confirmed", "rejected"] | None, Query(alias="status")
    ] = "proposed",
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[LinkProposalRead]:
    rows, total = link_proposals.list_proposals(
        session, principal=principal, incoming=incoming, status=state, limit=limit, offset=offset
    )
    return Page(
        items=link_proposals.proposal_reads(session, rows, principal=principal),
        total=total,
        limit=limit,
        offset=offset,
    )


@router.post(
    "/link-proposals/{proposal_id}/confirm",
    summary="Confirm a link proposed to your district: the link is made",
)
def confirm_link_proposal(
    proposal_id: int, session: SessionDep, principal: PrincipalDep
) -> LinkRead:
    link = link_proposals.confirm(
        session, principal=principal, proposal_id=proposal_id, now=utcnow()
    )
    return link_service.link_reads(session, [link])[0]


@router.post(
    "/link-proposals/{proposal_id}/reject",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Reject a link proposed to your district",
)
def reject_link_proposal(proposal_id: int, session: SessionDep, principal: PrincipalDep) -> None:
    link_proposals.reject(session, principal=principal, proposal_id=proposal_id, now=utcnow())


@router.delete(
    "/links/{link_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove a wrong link"
)
def delete_link(link_id: int, session: SessionDep, principal: PrincipalDep) -> None:
    link_service.delete_link(session, principal=principal, link_id=link_id)


@router.get("/chains", summary="Transmission chains touching your jurisdiction, largest first")
def list_chains(
    session: SessionDep,
    principal: PrincipalDep,
    min_cases: Annotated[int, Query(ge=1)] = 2,
    crossing_districts: bool = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[ChainSummary]:
    chains, total = link_service.list_chains(
        session,
        principal=principal,
        min_cases=min_cases,
        crossing_districts=crossing_districts,
        limit=limit,
        offset=offset,
    )
    return Page(items=chains, total=total, limit=limit, offset=offset)


@router.get("/spillovers", summary="Spillover links per day and pair of districts")
def spillovers(
    session: SessionDep, principal: PrincipalDep, first_day: date, last_day: date
) -> list[SpilloverRead]:
    if last_day < first_day:
        raise ValidationFailed(errors=[RowError("request", "last_day", "before first_day")])
    return link_service.spillovers(
        session, principal=principal, first_day=first_day, last_day=last_day
    )


# --- contacts and quarantine -----------------------------------------------------------------


@router.get("/contacts/{contact_id}", summary="One close contact (name shown until identified)")
def get_contact(
    contact_id: int, session: SessionDep, principal: PrincipalDep, protector: ProtectorDep
) -> ContactRead:
    contact = contact_service.get_contact(session, principal=principal, contact_id=contact_id)
    return contact_service.contact_reads(
        session, [contact], principal=principal, protector=protector
    )[0]


@router.post("/contacts/{contact_id}/identify", summary="Attach a contact to its person")
def identify_contact(
    contact_id: int,
    identify_in: ContactIdentify,
    session: SessionDep,
    principal: PrincipalDep,
    protector: ProtectorDep,
    settings: SettingsDep,
) -> ContactRead:
    contact = contact_flows.identify_contact(
        session,
        principal=principal,
        protector=protector,
        contact_id=contact_id,
        identify_in=identify_in,
        now=utcnow(),
        tz=settings.timezone,
    )
    return contact_service.contact_reads(
        session, [contact], principal=principal, protector=protector
    )[0]


@router.get("/quarantine-orders", summary="Quarantine orders of your district")
def list_orders(
    session: SessionDep,
    principal: PrincipalDep,
    district: str | None = None,
    status: str | None = None,
    awaiting_bed: bool | None = None,
    ending_on: date | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[QuarantineOrderRead]:
    orders, total = quarantine_service.list_orders(
        session,
        principal=principal,
        district_code=district,
        status=status,
        awaiting_bed=awaiting_bed,
        ending_on=ending_on,
        limit=limit,
        offset=offset,
    )
    return Page(
        items=quarantine_service.order_reads(session, orders),
        total=total,
        limit=limit,
        offset=offset,
    )


@router.post("/quarantine-orders/assign-beds", summary="Give free beds to orders waiting for one")
def assign_beds(
    session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> list[QuarantineOrderRead]:
    require(principal, Permission.write_persons)
    placed = quarantine_service.assign_waiting_orders(
        session, today=_today(settings), district_id=principal.district_id
    )
    orders = [
        quarantine_service.get_order(session, principal=principal, order_id=i) for i in placed
    ]
    return quarantine_service.order_reads(session, orders)


@router.get("/quarantine-orders/{order_id}", summary="One quarantine order")
def get_order(order_id: int, session: SessionDep, principal: PrincipalDep) -> QuarantineOrderRead:
    order = quarantine_service.get_order(session, principal=principal, order_id=order_id)
    return quarantine_service.order_reads(session, [order])[0]


@router.post(
    "/quarantine-orders/{order_id}/release",
    summary="Release on the end date with a negative test",
)
def release_order(
    order_id: int,
    release_in: QuarantineRelease,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
) -> QuarantineOrderRead:
    order = quarantine_service.release_order(
        session,
        principal=principal,
        order_id=order_id,
        tested_at=release_in.tested_at,
        result=release_in.result,
        released_at=release_in.released_at,
        tz=settings.timezone,
    )
    return quarantine_service.order_reads(session, [order])[0]


@router.get("/occupancy", summary="Quarantine beds in use per facility on a day")
def occupancy(session: SessionDep, principal: PrincipalDep, day: date) -> OccupancyRead:
    return quarantine_service.occupancy(session, principal=principal, day=day)


# --- one case --------------------------------------------------------------------------------


@router.get("/{case_id}", summary="One case (audited; 404 outside your jurisdiction)")
def get_case(
    case_id: int, session: SessionDep, principal: PrincipalDep, reason: str | None = None
) -> CaseRead:
    case = service.get_case(session, principal=principal, case_id=case_id, reason=reason)
    return service.to_read(session, case)


@router.post("/{case_id}/reclassify", summary="Correct the class, or record a conversion")
def reclassify(
    case_id: int,
    reclassify_in: Reclassify,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
) -> CaseRead:
    case = service.reclassify_case(
        session,
        principal=principal,
        case_id=case_id,
        classification=reclassify_in.classification,
        at=reclassify_in.at,
        tz=settings.timezone,
    )
    return service.to_read(session, case)


@router.get("/{case_id}/places", summary="Places of a case (home, where found, visits)")
def list_places(case_id: int, session: SessionDep, principal: PrincipalDep) -> list[PlaceRead]:
    case = service.get_case(session, principal=principal, case_id=case_id, reason="places")
    return service.places_of(session, case=case)


@router.post(
    "/{case_id}/places",
    status_code=status.HTTP_201_CREATED,
    summary="Record a workplace, venue or visit (may propose a cluster)",
)
def add_place(
    case_id: int,
    place_in: PlaceCreate,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
) -> list[PlaceRead]:
    service.add_place(
        session, principal=principal, case_id=case_id, place_in=place_in, tz=settings.timezone
    )
    case = service.get_case(session, principal=principal, case_id=case_id, audit=False)
    return service.places_of(session, case=case)


@router.get("/{case_id}/links", summary="Links to and from a case")
def list_links(case_id: int, session: SessionDep, principal: PrincipalDep) -> list[LinkRead]:
    links = link_service.links_of_case(session, principal=principal, case_id=case_id)
    return link_service.link_reads(session, links)


@router.get("/{case_id}/chain", summary="The chain of a case as nodes and edges, with counts")
def chain(case_id: int, session: SessionDep, principal: PrincipalDep) -> ChainRead:
    return link_service.export_chain(session, principal=principal, case_id=case_id)


@router.get("/{case_id}/contacts", summary="Close contacts of a case with their orders")
def list_contacts(case_id: int, session: SessionDep, principal: PrincipalDep) -> list[ContactRead]:
    contacts = contact_service.contacts_of_case(session, principal=principal, case_id=case_id)
    return contact_service.contact_reads(session, contacts, principal=principal)


@router.post(
    "/{case_id}/contacts",
    status_code=status.HTTP_201_CREATED,
    summary="Register a close contact: a quarantine order, and a referral need if elsewhere",
)
def register_contact(
    case_id: int,
    contact_in: ContactCreate,
    session: SessionDep,
    principal: PrincipalDep,
    protector: ProtectorDep,
    settings: SettingsDep,
) -> ContactRead:
    contact = contact_flows.register_contact(
        session,
        principal=principal,
        protector=protector,
        case_id=case_id,
        contact_in=contact_in,
        now=utcnow(),
        tz=settings.timezone,
    )
    return contact_service.contact_reads(
        session, [contact], principal=principal, protector=protector
    )[0]
