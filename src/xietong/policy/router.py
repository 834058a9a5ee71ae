"""Routes of the policy: what is in force today or on any past day, each version's rules, the
history with who adopted what and when, checking a file, and adoption (command centre)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, status

from xietong.api.deps import NowDep, PrincipalDep, SessionDep, SettingsDep
from xietong.core.clock import local_day
from xietong.policy import service
from xietong.policy.schemas import (
    PolicyAdopt,
    PolicyCheck,
    PolicyChecked,
    PolicyInForce,
    PolicyVersionRead,
)

router = APIRouter(prefix="/api/policy", tags=["policy"])


@router.get("", summary="The policy in force on a day (today by default), with its version")
def in_force(
    now: NowDep,
    session: SessionDep,
    _principal: PrincipalDep,
    settings: SettingsDep,
    day: date | None = None,
) -> PolicyInForce:
    day = day or local_day(now, settings.timezone)
    rules = service.history(session)
    policy = service.policy_in_force(session, day=day)
    try:
        since = rules.effective_from_of(day)
    except LookupError:
        since = policy.effective_from
    return PolicyInForce(
        day=day,
        version=policy.version,
        name=policy.name,
        effective_from=since,
        rules=policy.model_dump(mode="json"),
    )


@router.get("/history", summary="Every policy version with the day it took effect")
def policy_history(
    session: SessionDep, _principal: PrincipalDep, settings: SettingsDep
) -> list[PolicyVersionRead]:
    adopted = service.adopted_versions(session)
    found = []
    for v in service.history(session).as_of_versions():
        row = adopted.get(v.version)
        found.append(
            PolicyVersionRead(
                version=v.version,
                name=v.name,
                effective_from=v.effective_from,
                adopted_at=row.adopted_at if row else None,
                adopted_by=row.adopted_by if row else None,
                retroactive=row is not None
                and local_day(row.adopted_at, settings.timezone) > v.effective_from,
            )
        )
    return found


@router.get("/versions/{version}", summary="The rules of one version and the day it took effect")
def one_version(version: str, session: SessionDep, _principal: PrincipalDep) -> PolicyInForce:
    since, policy = service.version_in_force(session, version=version)
    return PolicyInForce(
        day=since,
        version=policy.version,
        name=policy.name,
        effective_from=since,
        rules=policy.model_dump(mode="json"),
    )


@router.post("/check", summary="Validate a policy file without adopting it")
def check(body: PolicyCheck, _principal: PrincipalDep) -> PolicyChecked:
    policy = service.check_policy(text=body.text, source="request body")
    return PolicyChecked(
        valid=True, version=policy.version, name=policy.name, effective_from=policy.effective_from
    )


@router.post("", status_code=status.HTTP_201_CREATED, summary="Adopt a policy file (command)")
def adopt(
    now: NowDep, body: PolicyAdopt, session: SessionDep, principal: PrincipalDep
) -> PolicyVersionRead:
    row = service.adopt_policy(
        session,
        principal=principal,
        text=body.text,
        source="request body",
        effective_from=body.effective_from,
        now=now,
    )
    return PolicyVersionRead(
        version=row.version,
        name=row.name,
        effective_from=row.effective_from,
        adopted_at=row.adopted_at,
        adopted_by=row.adopted_by,
    )
