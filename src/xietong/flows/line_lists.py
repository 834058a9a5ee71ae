"""Line lists in, with the referrals they need: the contacts of a line list who live in another
district are pushed to that district in the same transaction, as one registered by hand is."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TextIO

from sqlalchemy.orm import Session

from xietong.cases import line_list_rows, line_lists
from xietong.core.principal import Principal
from xietong.flows.referrals import open_referrals_from_needs
from xietong.people.protection import PersonalDataProtector


def import_line_list(
    session: Session,
    *,
    principal: Principal,
    protector: PersonalDataProtector,
    kind: line_lists.LineListKind,
    stream: TextIO,
    now: datetime,
    tz: str,
    load_valid: bool = False,
    rejects_path: Path | None = None,
    by_row: bool = False,
) -> line_lists.LineListReport:
    """Register a line list (all or nothing unless `load_valid`) and open its referrals; with
    `by_row`, a row at a time through the single operations (the reference for the batch)."""
    read = line_list_rows.read_line_list_by_row if by_row else line_lists.read_line_list
    report = read(
        session,
        principal=principal,
        protector=protector,
        kind=kind,
        stream=stream,
        now=now,
        tz=tz,
        load_valid=load_valid,
        rejects_path=rejects_path,
    )
    open_referrals_from_needs(session, now=now, tz=tz)
    return report
