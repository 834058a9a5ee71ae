"""The results intake flow: laboratory results in, and everything they set off, in one transaction.

Step 1 is the screening domain's ingestion (`screening.service`): results of record, conflicts,
holds, retest and resample tasks, case candidates and referral needs. Then each consumer of what
step 1 produced acts on it in the same transaction, reading its pending work through
`screening.service` (`pending_case_candidates`, `pending_referral_needs`) and marking it done, so
that a positive, its case and its referral commit together or not at all.

Adding a consumer is one line in `_follow_up`, in the order the steps must run. The API route
and the CLI for lab results call this flow, never the service directly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from xietong.cases import service as cases_service
from xietong.core.principal import Principal
from xietong.flows import referrals as referral_flows
from xietong.screening import service as screening_service
from xietong.screening.results.service import CHUNK_ROWS
from xietong.screening.schemas import LabResultBatch, ResultBatchReport


class IntakeReport(BaseModel):
    results: ResultBatchReport
    followed_up: dict[str, Any] = Field(
        default_factory=dict, description="what each consumer did with the results' products"
    )


def ingest_lab_results(
    session: Session,
    *,
    principal: Principal,
    tz: str,
    now: datetime,
    batch: LabResultBatch | None = None,
    stream: TextIO | None = None,
    records: Sequence[Sequence[str]] | None = None,
    label: Callable[[int], str] = str,
    source_name: str = "api",
    load_valid: bool = False,
    rejects_path: Path | None = None,
    chunk_rows: int = CHUNK_ROWS,
    progress: Callable[[int], None] | None = None,
) -> IntakeReport:
    """Ingest a batch (API), a CSV stream or the records another format was read into (HL7 v2,
    FHIR; `label` names each), then let the consumers act on them."""
    if [batch, stream, records].count(None) != 2:
        raise ValueError("give one of batch, stream or records")
    if records is not None:
        report = screening_service.ingest_lab_result_records(
            session,
            principal=principal,
            records=records,
            label=label,
            source=source_name,
            tz=tz,
            now=now,
        )
    elif batch is not None:
        report = screening_service.ingest_lab_results(
            session, principal=principal, batch=batch, tz=tz, now=now
        )
    else:
        assert stream is not None
        report = screening_service.ingest_lab_results_file(
            session,
            principal=principal,
            stream=stream,
            source_name=source_name,
            tz=tz,
            now=now,
            load_valid=load_valid,
            rejects_path=rejects_path,
            chunk_rows=chunk_rows,
            progress=progress,
        )
    intake = IntakeReport(results=report)
    _follow_up(session, intake, tz=tz, now=now)
    return intake


def _follow_up(session: Session, intake: IntakeReport, *, tz: str, now: datetime) -> None:
    """The consumers of case candidates and referral needs, one line each, in this order:

    1. cases: a case for each pending case candidate (a positive single tube);
    2. referrals: a referral for each pending referral need (after cases, so that a referral
       can name its case).

    Each line has the form
    ``intake.followed_up["<domain>"] = <its function>(session, now=now, tz=tz)``.
    """
    intake.followed_up["cases"] = cases_service.create_cases_from_candidates(
        session, now=now, tz=tz
    ).model_dump()
    intake.followed_up["referrals"] = referral_flows.open_referrals_from_needs(
        session, now=now, tz=tz
    )
