"""The policy in force on a day: the bundled default until a city adopts its own files.

Adopted files are stored verbatim with their effective date; the history is rebuilt from them and
cached on the session, so that every service can ask cheaply which rules applied on a day.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.core.clock import utcnow
from xietong.core.errors import Conflict, DomainError, PermissionDenied
from xietong.core.principal import Principal, Role
from xietong.policy.history import NoPolicyInForce, PolicyHistory, PolicyHistoryConflict
from xietong.policy.loader import PolicyError, default_policy, load_policy_text
from xietong.policy.models import AdoptedPolicy
from xietong.policy.rules import Policy

_CACHE = "xietong.policy.history"


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
) -> AdoptedPolicy:
    """Validate a policy file and adopt it from its (or the given) effective date."""
    if principal.role is not Role.command:
        raise PermissionDenied("only the command centre adopts a policy")
    try:
        policy = load_policy_text(text, source=source)
    except PolicyError as exc:
        raise DomainError(str(exc), code="policy_invalid", details=exc.as_dicts()) from None
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
        adopted_at=utcnow(),
        adopted_by=principal.username,
    )
    session.add(row)
    session.flush()
    session.info.pop(_CACHE, None)
    return row
