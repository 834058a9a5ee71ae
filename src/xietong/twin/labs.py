"""The twin's laboratories: what a tube's result is, and the files a laboratory sends, as real
laboratories send them — in several deliveries a day, now and then the same file twice, now and
then the last file of the day only the next day, and a few bad rows (a mistyped tube code, a
result word nobody reads, a Ct that is not a number, an impossible time).

Pure: results and CSV text from arrays and a random generator, no database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

HEADER = "tube_code,result,ct_value,lab,reported_at"
INVALID_SHARE = 0.0005  # 0.05 % of tubes come back invalid (too little sample, inhibition)
DUPLICATE_SHARE = 0.10  # deliveries sent a second time
LATE_SHARE = 0.08  # last deliveries of a laboratory's day that arrive only the next day
BAD_FILE_SHARE = 0.15  # deliveries with one to three bad rows
RESEND_AFTER = timedelta(minutes=20)
# Ct values of positive tubes: pools dilute a swab, so they read higher (Omicron, 2022).
CT_SINGLE = (18.0, 32.0)
CT_POOLED = (24.0, 36.0)
DEFECTS = ("tube_code", "result", "ct_value", "reported_at")


@dataclass(frozen=True)
class Results:
    """Results of tubes, in the order of `codes`."""

    codes: list[str]
    outcome: list[str]
    ct: list[float | None]


def results_of(
    rng: np.random.Generator,
    *,
    codes: Sequence[str],
    positive: npt.NDArray[np.bool_],
    pooled: npt.NDArray[np.bool_],
    invalid_share: float = INVALID_SHARE,
) -> Results:
    """A tube is positive when a member's swab is; a few tubes fail whatever they hold."""
    n = len(codes)
    invalid = rng.random(n) < invalid_share
    low = np.where(pooled, CT_POOLED[0], CT_SINGLE[0])
    high = np.where(pooled, CT_POOLED[1], CT_SINGLE[1])
    ct = np.round(rng.uniform(low, high), 1)
    outcome = np.where(invalid, "invalid", np.where(positive, "positive", "negative"))
    return Results(
        codes=list(codes),
        outcome=outcome.tolist(),
        ct=[float(c) if o == "positive" else None for o, c in zip(outcome, ct, strict=True)],
    )


@dataclass
class Delivery:
    """One file a laboratory sends: its rows as CSV text and what is wrong with it."""

    lab: str
    at: datetime
    name: str
    lines: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)  # the tubes the file answers (bad rows too)
    bad_rows: int = 0
    resent: bool = False

    def text(self) -> str:
        return "\n".join([HEADER, *self.lines]) + "\n"


def _line(code: str, outcome: str, ct: float | None, lab: str, at: datetime) -> str:
    return f"{code},{outcome},{'' if ct is None else ct},{lab},{at.isoformat()}"


def _spoil(rng: np.random.Generator, line: str) -> str:
    """The row with one defect of a kind laboratories really send."""
    code, outcome, ct, lab, at = line.split(",")
    defect = DEFECTS[int(rng.integers(0, len(DEFECTS)))]
    if defect == "tube_code":
        code = code[:-2] + code[-1] + code[-2] + "X"  # transposed digits and a stray key
    elif defect == "result":
        outcome = "阳?" if outcome == "positive" else "阴 性?"
    elif defect == "ct_value":
        ct = "n/a"
    else:
        at = at[:5] + "13-45" + at[10:]  # month 13, day 45
    return ",".join((code, outcome, ct, lab, at))


def deliveries(
    rng: np.random.Generator,
    *,
    lab: str,
    results: Results,
    slots: Sequence[datetime],
    name: str,
    late_share: float = LATE_SHARE,
    duplicate_share: float = DUPLICATE_SHARE,
    bad_file_share: float = BAD_FILE_SHARE,
) -> tuple[list[Delivery], list[str]]:
    """A laboratory's day: its results split over the delivery `slots`, each maybe re-sent or
    with bad rows; the last one maybe held over. Returns the files sent in time order and the
    codes of the tubes whose results did not arrive today (held over)."""
    n = len(results.codes)
    if n == 0:
        return [], []
    cuts = np.linspace(0, n, len(slots) + 1).round().astype(int)
    sent: list[Delivery] = []
    held: list[str] = []
    for k, at in enumerate(slots):
        part = range(int(cuts[k]), int(cuts[k + 1]))
        if not part:
            continue
        codes = [results.codes[i] for i in part]
        if k == len(slots) - 1 and len(slots) > 1 and rng.random() < late_share:
            held.extend(codes)
            continue
        # Each result is reported a little before the file leaves the laboratory.
        lines = [
            _line(
                results.codes[i],
                results.outcome[i],
                results.ct[i],
                lab,
                at - timedelta(minutes=5 + 40 * (len(part) - j) / len(part)),
            )
            for j, i in enumerate(part)
        ]
        bad = 0
        if rng.random() < bad_file_share:
            bad = int(rng.integers(1, 4))
            for row in rng.choice(len(lines), size=min(bad, len(lines)), replace=False):
                lines[int(row)] = _spoil(rng, lines[int(row)])
        delivery = Delivery(
            lab=lab, at=at, name=f"{name}-{k + 1}.csv", lines=lines, codes=codes, bad_rows=bad
        )
        sent.append(delivery)
        if rng.random() < duplicate_share:
            sent.append(
                Delivery(
                    lab=lab,
                    at=at + RESEND_AFTER,
                    name=delivery.name,
                    lines=list(lines),
                    codes=codes,
                    bad_rows=bad,
                    resent=True,
                )
            )
    sent.sort(key=lambda d: d.at)
    return sent, held
