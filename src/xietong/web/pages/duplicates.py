"""The review of possible duplicate persons: the pairs of the jurisdiction side by side, with
finding, dismissing ("not the same person") and merging into the record kept.

The page calls the services the API calls (`people.duplicates`, `flows.duplicates`), so it is
scoped and audited the same way: every person shown is an audited read.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response

from xietong.api.deps import SessionDep
from xietong.core.principal import Principal, Role
from xietong.flows.duplicates import merge_duplicates
from xietong.people import duplicates
from xietong.people.protection import PersonalDataProtector
from xietong.web.pages.common import act
from xietong.web.pages.listing import ListPage
from xietong.web.rendering import render
from xietong.web.session import ViewerDep

router = APIRouter(include_in_schema=False)

Text = Annotated[str, Form()]
REVIEWERS = (Role.command, Role.district_coordinator)


@router.get("/duplicates")
def duplicates_page(listing: ListPage, status: str = "open") -> Response:
    viewer, session = listing.viewer, listing.session
    protector = PersonalDataProtector.from_settings(viewer.settings)
    shown = status if status in duplicates.STATUSES else "open"

    def build(principal: Principal) -> Response:
        items, total = duplicates.list_pairs(
            session,
            principal=principal,
            protector=protector,
            status=shown,
            limit=listing.limit,
            offset=listing.offset,
        )
        context = {
            "page": listing.page(items, total),
            "status": shown,
            "statuses": duplicates.STATUSES,
        }
        return render(viewer, session, "duplicates.html", context)

    return listing.guard(build, roles=REVIEWERS)


@router.post("/duplicates/find")
def duplicates_find(
    viewer: ViewerDep, session: SessionDep, csrf: Text = "", form_key: Text = ""
) -> Response:
    def find(principal: Principal) -> None:
        duplicates.find_duplicates(session, principal=principal, now=viewer.now)

    return act(viewer, session, csrf=csrf, action=find, back_to="/duplicates", form_key=form_key)


@router.post("/duplicates/{pair_id}/dismiss")
def duplicates_dismiss(
    pair_id: int,
    viewer: ViewerDep,
    session: SessionDep,
    csrf: Text = "",
    form_key: Text = "",
    note: Text = "",
) -> Response:
    def dismiss(principal: Principal) -> None:
        duplicates.dismiss(
            session, principal=principal, pair_id=pair_id, note=note or None, now=viewer.now
        )

    return act(viewer, session, csrf=csrf, action=dismiss, back_to="/duplicates", form_key=form_key)


@router.post("/duplicates/{pair_id}/merge")
def duplicates_merge(
    pair_id: int,
    viewer: ViewerDep,
    session: SessionDep,
    survivor_id: Annotated[int, Form()],
    csrf: Text = "",
    form_key: Text = "",
) -> Response:
    def merge(principal: Principal) -> None:
        merge_duplicates(
            session, principal=principal, pair_id=pair_id, survivor_id=survivor_id, now=viewer.now
        )

    return act(viewer, session, csrf=csrf, action=merge, back_to="/duplicates", form_key=form_key)
