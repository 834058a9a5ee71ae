"""The audit trail of a long list: every row written, each with its own detail, in a few
multi-row statements rather than one per row."""

from __future__ import annotations

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from xietong.auth import service as auth_service
from xietong.auth.models import AuditEntry
from xietong.core.principal import SYSTEM


def test_a_long_list_is_audited_row_by_row_in_a_few_statements(session: Session) -> None:
    size = 2 * auth_service.AUDIT_ROWS_PER_STATEMENT + 1
    rows = [(k, {"k": k} if k % 2 else None) for k in range(size)]
    before = session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1)) or 0
    statements: list[tuple[str, bool]] = []

    def note(
        _c: object, _cur: object, statement: str, _p: object, _ctx: object, many: bool
    ) -> None:
        if "auth_audit" in statement and statement.lstrip().upper().startswith("INSERT"):
            statements.append((statement, many))

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", note)
    try:
        auth_service.record_audit_rows(
            session, principal=SYSTEM, action="list", entity="referral", rows=rows
        )
    finally:
        event.remove(engine, "before_cursor_execute", note)
    written = session.execute(
        select(AuditEntry.entity_id, AuditEntry.detail, AuditEntry.action)
        .where(AuditEntry.id > before)
        .order_by(AuditEntry.id)
    ).all()
    assert [(e, d) for e, d, _ in written] == [(str(k), detail) for k, detail in rows]
    assert {a for _, _, a in written} == {"list"}
    # Three multi-row INSERTs, none an executemany (which the driver may send row by row).
    assert len(statements) == 3
    assert not any(many for _, many in statements)
