"""Routes of the policy: what is in force today or on any past day, the history, adoption."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, status

from xietong.auth.dependencies import PrincipalDep, SettingsDep
from xietong.core.clock import local_day, utcnow
from xietong.policy import service
from xietong.policy.schemas import PolicyAdopt, PolicyInForce, PolicyVersionRead
from xietong.storage.dependencies import SessionDep

router = APIRouter(prefix="/api/policy", tags=["policy"])


@router.get("", summary="The policy in force on a day (today by default), with its version")
def in_force(
    session: SessionDep, _principal: PrincipalDep, settings: SettingsDep, day: date | None = None
) -> PolicyInForce:
    day = day or local_day(utcnow(), settings.timezone)
    rules = service.history(session)
    policy = service.policy_in_force(session, day=day)
    try:
        since = rules.effective_from_of(day)
    except LookupError:
        since = policy.effective_from
    return PolicyInForce(
        day=day, version=policy.version, effective_from=since, rules=policy.model_dump(mode="json")
    )


@router.get("/history", summary="Every policy version with the day it took effect")
def policy_history(session: SessionDep, _principal: PrincipalDep) -> list[PolicyVersionRead]:
    return [
        PolicyVersionRead(version=v.version, name=v.name, effective_from=v.effective_from)
        for v in service.history(session).as_of_versions()
    ]


@router.post("", status_code=status.HTTP_201_CREATED, summary="Adopt a policy file (command)")
def adopt(body: PolicyAdopt, session: SessionDep, principal: PrincipalDep) -> PolicyVersionRead:
    row = service.adopt_policy(
        session,
        principal=principal,
        text=body.text,
        source="request body",
        effective_from=body.effective_from,
    )
    return PolicyVersionRead(version=row.version, name=row.name, effective_from=row.effective_from)
