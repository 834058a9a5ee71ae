"""Login throttling: refused logins are counted per account and per address over a window, in the
database so that every server process shares the count; past the limit a login is refused
without checking the password until the window has passed."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from xietong.auth.models import LoginFailure
from xietong.core.errors import DomainError


class TooManyLogins(DomainError):
    status_code = 429
    code = "too_many_logins"


def _keys(username: str, address: str | None) -> tuple[str, str | None]:
    return f"user:{username.lower()[:190]}", (f"address:{address}" if address else None)


def check_login_allowed(
    session: Session,
    *,
    username: str,
    address: str | None,
    now: datetime,
    window: timedelta,
    per_account: int,
    per_address: int,
) -> None:
    """Refuse (TooManyLogins) when the account or the address has failed too often lately."""
    account_key, address_key = _keys(username, address)
    since = now - window
    session.execute(delete(LoginFailure).where(LoginFailure.at < since))
    for key, limit in ((account_key, per_account), (address_key, per_address)):
        if key is None:
            continue
        failures = session.scalar(
            select(func.count()).where(LoginFailure.key == key, LoginFailure.at >= since)
        )
        if (failures or 0) >= limit:
            raise TooManyLogins(
                "too many failed logins; try again later",
                details={"retry_after_seconds": int(window.total_seconds())},
            )


def record_login_failure(
    session: Session, *, username: str, address: str | None, now: datetime
) -> None:
    """Count one refused login against the account name (known or not) and the address."""
    for key in _keys(username, address):
        if key is not None:
            session.add(LoginFailure(key=key, at=now))
    session.flush()


def forget_login_failures(session: Session, *, username: str) -> None:
    """A successful login clears the account's count (the address keeps its own)."""
    account_key, _ = _keys(username, None)
    session.execute(delete(LoginFailure).where(LoginFailure.key == account_key))
