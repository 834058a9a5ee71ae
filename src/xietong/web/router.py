"""The dashboard's routes (no `/api` prefix): every page, assembled from `xietong.web.pages`.

Discovered by the application like every domain's router; the pages call the same service
functions as the API, so a number on a screen and in an API answer come from one code path.
"""

from __future__ import annotations

from fastapi import APIRouter

from xietong.web.pages import (
    bulletin,
    cases,
    clusters,
    duplicates,
    forecast,
    frame,
    lab,
    line_lists,
    lines,
    overview,
    persons,
    referral_forms,
    referrals,
    resources,
    screening,
    search,
    users,
    zone_history,
    zones,
)

router = APIRouter(include_in_schema=False)
for page in (
    frame,
    overview,
    persons,
    referral_forms,
    referrals,
    zones,
    resources,
    forecast,
    bulletin,
    lab,
    screening,
    zone_history,
    cases,
    lines,
    line_lists,
    clusters,
    search,
    duplicates,
    users,
):
    router.include_router(page.router)
