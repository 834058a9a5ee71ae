"""The routers the application serves, in the order their routes are matched."""

from __future__ import annotations

from fastapi import APIRouter

from xietong.analytics.router import router as analytics
from xietong.areas.router import router as areas
from xietong.auth.router import router as auth
from xietong.cases.router import router as cases
from xietong.flows.router import cases_router as case_flows
from xietong.flows.router import people_router as people_flows
from xietong.flows.router import router as flows
from xietong.interop.router import router as interop
from xietong.mutual_aid.router import router as mutual_aid
from xietong.outbox.router import router as outbox
from xietong.people.router import router as people
from xietong.policy.router import router as policy
from xietong.referrals.router import router as referrals
from xietong.reports.router import router as reports
from xietong.resources.router import router as resources
from xietong.screening.router import router as screening
from xietong.web.pages.fallback import router as no_such_page
from xietong.web.router import router as web
from xietong.zones.router import router as zones

ROUTERS: tuple[APIRouter, ...] = (
    areas,
    auth,
    people,
    people_flows,
    policy,
    outbox,
    zones,
    flows,
    screening,
    case_flows,
    cases,
    referrals,
    resources,
    mutual_aid,
    analytics,
    reports,
    interop,
    web,
    # Last: answers only what no route above matched.
    no_such_page,
)
