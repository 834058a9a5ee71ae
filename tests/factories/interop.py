"""ORU^R01 messages as a laboratory system sends them, for the tubes the screening factories
make."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from tests.factories import screening as f
from xietong.interop import hl7v2

_serial = itertools.count(1)
REPORTED_AT = f.SAMPLED_AT + timedelta(hours=3)


def message(
    tube_code: str,
    outcome: str,
    *,
    ct: float | None = None,
    lab: str = "LAB-01",
    pooled: bool = False,
    reported_at: datetime = REPORTED_AT,
    control_id: str | None = None,
) -> str:
    return hl7v2.result_message(
        control_id=control_id or f"MSG{next(_serial):08d}",
        tube_code=tube_code,
        outcome=outcome,
        lab=lab,
        reported_at=reported_at,
        collected_at=f.SAMPLED_AT,
        ct=ct,
        pooled=pooled,
    )
