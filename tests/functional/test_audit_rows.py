"""The audit trail of a long list: every row written, with its own detail or none, whichever
way it is loaded."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.auth import service as auth_service
from xietong.auth.models import AuditEntry
from xietong.core.principal import SYSTEM


@pytest.mark.parametrize("with_details", [False, True])
def test_a_long_list_is_audited_row_by_row(session: Session, with_details: bool) -> None:
    rows = [(k, {"k": k} if with_details and k % 2 else None) for k in range(1_001)]
    before = session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1)) or 0
    auth_service.record_audit_rows(
        session, principal=SYSTEM, action="list", entity="referral", rows=rows, reason="why"
    )
    written = session.execute(
        select(
            AuditEntry.entity_id,
            AuditEntry.detail,
            AuditEntry.action,
            AuditEntry.entity,
            AuditEntry.username,
            AuditEntry.reason,
        )
        .where(AuditEntry.id > before)
        .order_by(AuditEntry.id)
    ).all()
    assert [(e, d) for e, d, *_ in written] == [(str(k), detail) for k, detail in rows]
    assert {tuple(rest) for *_, rest in [(w[0], w[1], w[2:]) for w in written]} == {
        ("list", "referral", SYSTEM.username, "why")
    }
