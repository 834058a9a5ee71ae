"""The policy in force on a day: the bundled default until a city adopts its own files.

Adopted files are stored verbatim with their effective date; the history is rebuilt from them and
cached on the session, so that every service can ask cheaply which rules applied on a day.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from xietong.core.principal import SYSTEM, Principal, Role
from xietong.policy.history import NoPolicyInForce, PolicyHistory, PolicyHistoryConflict
from xietong.policy.loader import (
    PolicyError,
    bundled_policy,
    bundled_policy_names,
    default_policy,
    load_policy_text,
)
from xietong.policy.models import AdoptedPolicy
from xietong.policy.rules import Policy

_CACHE = "xietong.policy.history"


class PolicyInvalid(DomainError):
    """A policy file with problems; `details` lists each with its dotted key and line."""

    status_code = 422
    code = "policy_invalid"

    @classmethod
    def of(cls, error: PolicyError) -> PolicyInvalid:
        return cls(str(error), details=error.as_dicts())


def check_policy(*, text: str, source: str) -> Policy:
    """Validate a policy file without adopting it; every problem is raised at once."""
    try:
        return load_policy_text(text, source=source)
    except PolicyError as exc:
        raise PolicyInvalid.of(exc) from None


def history(session: Session) -> PolicyHistory:
    """Every policy ever in force, oldest first (the default first unless replaced)."""
    cached = session.info.get(_CACHE)
    if isinstance(cached, PolicyHistory):
        return cached
    adopted = list(session.scalars(select(AdoptedPolicy).order_by(AdoptedPolicy.effective_from)))
    built = PolicyHistory()
    default = default_policy()
    if not any(a.version == default.version for a in adopted) and not any(
        a.effective_from <= default.effective_from for a in adopted
    ):
        built.add(default)
    for row in adopted:
        built.add(
            load_policy_text(row.source_text, source=f"policy {row.version}"),
            effective_from=row.effective_from,
        )
    session.info[_CACHE] = built
    return built


def adopted_versions(session: Session) -> dict[str, AdoptedPolicy]:
    """The adopted files by version (the bundled default is not among them unless adopted)."""
    return {row.version: row for row in session.scalars(select(AdoptedPolicy))}


def version_in_force(session: Session, *, version: str) -> tuple[date, Policy]:
    """A version of the history with the day it took effect (to explain a past decision)."""
    for day, policy in history(session):
        if policy.version == version:
            return day, policy
    # A record may name a packaged version that an adopted file has since displaced.
    for name in bundled_policy_names():
        packaged = bundled_policy(name)
        if packaged.version == version:
            return packaged.effective_from, packaged
    known = ", ".join(v.version for v in history(session).as_of_versions())
    raise NotFound(f"no policy version {version!r} (known: {known})", code="policy_not_found")


def policy_in_force(session: Session, *, day: date) -> Policy:
    """The rules that applied on `day`; before the first policy, the earliest one."""
    rules = history(session)
    try:
        return rules.in_force_on(day)
    except NoPolicyInForce:
        return next(iter(rules))[1]


def adopt_policy(
    session: Session,
    *,
    principal: Principal,
    text: str,
    source: str,
    effective_from: date | None = None,
    now: datetime,
) -> AdoptedPolicy:
    """Validate a policy file and adopt it from its (or the given) effective date."""
    if principal.role is not Role.command:
        raise PermissionDenied("only the command centre adopts a policy")
    policy = check_policy(text=text, source=source)
    starts = effective_from or policy.effective_from
    candidate = PolicyHistory()
    for day, earlier in history(session):
        candidate.add(earlier, effective_from=day)
    try:
        candidate.add(policy, effective_from=starts)
    except PolicyHistoryConflict as exc:
        raise Conflict(str(exc), code="policy_conflict") from None
    row = AdoptedPolicy(
        version=policy.version,
        effective_from=starts,
        name=policy.name,
        source_text=text,
        adopted_at=now,
        adopted_by=principal.username,
    )
    session.add(row)
    session.flush()
    session.info.pop(_CACHE, None)
    return row


def adopt_configured_policy(session: Session, *, path: Path, now: datetime) -> AdoptedPolicy | None:
    """Adopt the deployment's policy file (`XIETONG_POLICY_FILE`) unless it is adopted already.

    Idempotent, so that it can run at every start: the same version with the same text is left
    alone; the same version with another text is refused, since a version names one set of rules.
    """
    text = path.read_text(encoding="utf-8")
    policy = check_policy(text=text, source=str(path))
    adopted = adopted_versions(session).get(policy.version)
    if adopted is not None:
        if adopted.source_text != text:
            raise Conflict(
                f"{path}: version {policy.version!r} is adopted with other rules; "
                "a changed policy needs a new version",
                code="policy_conflict",
            )
        return None
    return adopt_policy(session, principal=SYSTEM, text=text, source=str(path), now=now)
