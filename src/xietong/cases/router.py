"""Routes of cases, clusters, links and chains, contacts and quarantine, scoped like persons."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse

from xietong.api.deps import (
    NowDep,
    PageDep,
    PrincipalDep,
    ProtectorDep,
    SessionDep,
    SettingsDep,
    TodayDep,
)
from xietong.areas import service as areas_service
from xietong.cases import metrics, service
from xietong.cases.clusters import service as cluster_service
from xietong.cases.contacts import service as contact_service
from xietong.cases.links import proposals as link_proposals
from xietong.cases.links import service as link_service
from xietong.cases.models import LinkProposal
from xietong.cases.quarantine import service as quarantine_service
from xietong.cases.schemas import (
    CaseCreate,
    CaseRead,
    ChainRead,
    ChainSummary,
    Classification,
    ClusterDecision,
    ClusterFilter,
    ClusterRead,
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
from xietong.core.errors import RowError, ValidationFailed
from xietong.core.pagination import Page
from xietong.core.principal import Permission

router = APIRouter(prefix="/api/cases", tags=["cases"])


# --- cases -----------------------------------------------------------------------------------


@router.post("", status_code=status.HTTP_201_CREATED, summary="Register a case (field worker)")
def create_case(
    now: NowDep,
    case_in: CaseCreate,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
) -> CaseRead:
    case = service.create_case(
        session, principal=principal, case_in=case_in, tz=settings.timezone, now=now
    )
    return service.to_read(session, case)


@router.get("", summary="Cases in your jurisdiction, newest report first")
def list_cases(
    paging: PageDep,
    session: SessionDep,
    principal: PrincipalDep,
    district: str | None = None,
    first_day: date | None = None,
    last_day: date | None = None,
    classification: Classification | None = None,
    on_surface: bool | None = None,
) -> Page[CaseRead]:
    cases, total = service.list_cases(
        session,
        principal=principal,
        district_code=district,
        first_day=first_day,
        last_day=last_day,
        classification=classification,
        on_surface=on_surface,
        limit=paging.limit,
        offset=paging.offset,
    )
    return Page.of(service.to_reads(session, cases), total=total, params=paging)


@router.get("/summary", summary="A day's figures per district, as the bulletin counts them")
def day_summary(
    session: SessionDep, principal: PrincipalDep, settings: SettingsDep, day: date
) -> DaySummary:
    principal.require(Permission.read_persons)
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
    paging: PageDep,
    today: TodayDep,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    status: ClusterFilter | None = None,
    district: str | None = None,
) -> Page[ClusterRead]:
    clusters, total = cluster_service.list_clusters(
        session,
        principal=principal,
        status=status,
        district_code=district,
        today=today,
        limit=paging.limit,
        offset=paging.offset,
    )
    return Page.of(
        cluster_service.to_reads(session, clusters, today=today), total=total, params=paging
    )


@router.get("/clusters/{cluster_id}", summary="One cluster with its cases")
def get_cluster(
    today: TodayDep,
    cluster_id: int,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
) -> ClusterRead:
    cluster = cluster_service.get_cluster(session, principal=principal, cluster_id=cluster_id)
    return cluster_service.to_reads(session, [cluster], today=today)[0]


@router.post("/clusters/{cluster_id}/{decision}", summary="Confirm or reject a proposed cluster")
def decide_cluster(
    now: NowDep,
    today: TodayDep,
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
        now=now,
    )
    return cluster_service.to_reads(session, [cluster], today=today)[0]


@router.post(
    "/clusters/{cluster_id}/members/{case_id}/{decision}",
    summary="Confirm or reject one case's membership of a cluster",
)
def decide_member(
    now: NowDep,
    today: TodayDep,
    cluster_id: int,
    case_id: int,
    decision: cluster_service.Decision,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
) -> ClusterRead:
    cluster = cluster_service.decide_member(
        session,
        principal=principal,
        cluster_id=cluster_id,
        case_id=case_id,
        decision=decision,
        now=now,
    )
    return cluster_service.to_reads(session, [cluster], today=today)[0]


# --- links, chains, spillovers ---------------------------------------------------------------


@router.post(
    "/links",
    status_code=status.HTTP_201_CREATED,
    summary="Link an infectee to its source (a case you may not see: proposed to its district)",
    response_model=LinkRead,
    responses={202: {"model": LinkProposalRead, "description": "Proposed to the other district"}},
)
def create_link(
    now: NowDep, link_in: LinkCreate, session: SessionDep, principal: PrincipalDep
) -> Any:
    link = link_service.create_link(session, principal=principal, link_in=link_in, now=now)
    if isinstance(link, LinkProposal):
        proposal = link_proposals.proposal_reads(session, [link], principal=principal)[0]
        return JSONResponse(proposal.model_dump(mode="json"), status_code=202)
    return link_service.link_reads(session, [link])[0]


@router.get("/link-proposals", summary="Links proposed to your district (or by it) to decide")
def list_link_proposals(
    paging: PageDep,
    session: SessionDep,
    principal: PrincipalDep,
    incoming: bool = True,
    state: Annotated[
        Literal["proposed", "confirmed", "rejected"] | None, Query(alias="status")
    ] = "proposed",
) -> Page[LinkProposalRead]:
    rows, total = link_proposals.list_proposals(
        session,
        principal=principal,
        incoming=incoming,
        status=state,
        limit=paging.limit,
        offset=paging.offset,
    )
    return Page.of(
        link_proposals.proposal_reads(session, rows, principal=principal),
        total=total,
        params=paging,
    )


@router.post(
    "/link-proposals/{proposal_id}/confirm",
    summary="Confirm a link proposed to your district: the link is made",
)
def confirm_link_proposal(
    now: NowDep, proposal_id: int, session: SessionDep, principal: PrincipalDep
) -> LinkRead:
    link = link_proposals.confirm(session, principal=principal, proposal_id=proposal_id, now=now)
    return link_service.link_reads(session, [link])[0]


@router.post(
    "/link-proposals/{proposal_id}/reject",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Reject a link proposed to your district",
)
def reject_link_proposal(
    now: NowDep, proposal_id: int, session: SessionDep, principal: PrincipalDep
) -> None:
    link_proposals.reject(session, principal=principal, proposal_id=proposal_id, now=now)


@router.delete(
    "/links/{link_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove a wrong link"
)
def delete_link(now: NowDep, link_id: int, session: SessionDep, principal: PrincipalDep) -> None:
    link_service.delete_link(session, principal=principal, link_id=link_id, now=now)


@router.get("/chains", summary="Transmission chains touching your jurisdiction, largest first")
def list_chains(
    paging: PageDep,
    session: SessionDep,
    principal: PrincipalDep,
    min_cases: Annotated[int, Query(ge=1)] = 2,
    crossing_districts: bool = False,
) -> Page[ChainSummary]:
    chains, total = link_service.list_chains(
        session,
        principal=principal,
        min_cases=min_cases,
        crossing_districts=crossing_districts,
        limit=paging.limit,
        offset=paging.offset,
    )
    return Page.of(chains, total=total, params=paging)


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


@router.get("/contacts", summary="Close contacts of your cases or living in your district")
def list_jurisdiction_contacts(
    paging: PageDep,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    district: str | None = None,
    day: date | None = None,
    status: contact_service.ContactStatus | None = None,
) -> Page[ContactRead]:
    contacts, total = contact_service.list_contacts(
        session,
        principal=principal,
        district_code=district,
        day=day,
        status=status,
        tz=settings.timezone,
        limit=paging.limit,
        offset=paging.offset,
    )
    return Page.of(
        contact_service.contact_reads(session, contacts, principal=principal),
        total=total,
        params=paging,
    )


@router.get("/contacts/{contact_id}", summary="One close contact (name shown until identified)")
def get_contact(
    contact_id: int, session: SessionDep, principal: PrincipalDep, protector: ProtectorDep
) -> ContactRead:
    contact = contact_service.get_contact(session, principal=principal, contact_id=contact_id)
    return contact_service.contact_reads(
        session, [contact], principal=principal, protector=protector
    )[0]


@router.get("/quarantine-orders", summary="Quarantine orders of your district")
def list_orders(
    paging: PageDep,
    session: SessionDep,
    principal: PrincipalDep,
    district: str | None = None,
    status: str | None = None,
    awaiting_bed: bool | None = None,
    ending_on: date | None = None,
) -> Page[QuarantineOrderRead]:
    orders, total = quarantine_service.list_orders(
        session,
        principal=principal,
        district_code=district,
        status=status,
        awaiting_bed=awaiting_bed,
        ending_on=ending_on,
        limit=paging.limit,
        offset=paging.offset,
    )
    return Page.of(quarantine_service.order_reads(session, orders), total=total, params=paging)


@router.post("/quarantine-orders/assign-beds", summary="Give free beds to orders waiting for one")
def assign_beds(
    now: NowDep,
    today: TodayDep,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
) -> list[QuarantineOrderRead]:
    principal.require(Permission.write_persons)
    placed = quarantine_service.assign_waiting_orders(
        session, today=today, district_id=principal.district_id, now=now
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
    now: NowDep,
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
        released_at=release_in.released_at or now,
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
    now: NowDep,
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
        at=reclassify_in.at or now,
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
    now: NowDep,
    case_id: int,
    place_in: PlaceCreate,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
) -> list[PlaceRead]:
    service.add_place(
        session,
        principal=principal,
        case_id=case_id,
        place_in=place_in,
        tz=settings.timezone,
        now=now,
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
