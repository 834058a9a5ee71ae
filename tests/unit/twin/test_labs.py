"""The twin's laboratories send files as real ones do: split, sometimes twice, sometimes late,
with a few bad rows that the result parser refuses."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from xietong.screening.parsing import BadValue, parse_ct, parse_instant, parse_outcome
from xietong.twin import labs

SLOTS = [datetime(2022, 11, 15, 6, tzinfo=UTC), datetime(2022, 11, 15, 10, tzinfo=UTC)]


def results(n: int) -> labs.Results:
    return labs.results_of(
        np.random.default_rng(0),
        codes=[f"T{k:05d}" for k in range(n)],
        positive=np.arange(n) % 100 == 0,
        pooled=np.ones(n, dtype=np.bool_),
    )


def test_a_tube_is_positive_when_a_member_is_and_carries_a_ct_only_then() -> None:
    made = results(1_000)
    for outcome, ct in zip(made.outcome, made.ct, strict=True):
        assert (ct is not None) == (outcome == "positive")
        if ct is not None:
            assert labs.CT_POOLED[0] <= ct <= labs.CT_POOLED[1]
    assert made.outcome.count("positive") >= 9  # 10 positive tubes, unless one failed


def test_every_result_is_sent_once_or_held_over_and_a_resent_file_is_the_same_file() -> None:
    for seed in range(40):
        made = results(300)
        sent, held = labs.deliveries(
            np.random.default_rng(seed), lab="LAB-1", results=made, slots=SLOTS, name="d"
        )
        first = [d for d in sent if not d.resent]
        answered = [code for d in first for code in d.codes]
        assert sorted(answered + held) == sorted(made.codes)
        assert len(set(answered)) == len(answered)
        for again in (d for d in sent if d.resent):
            original = next(d for d in first if d.name == again.name)
            assert again.lines == original.lines and again.at > original.at
        assert [d.at for d in sent] == sorted(d.at for d in sent)


def test_over_many_days_the_imperfections_all_happen_at_their_rates() -> None:
    days = 400
    resent = late = bad = 0
    for seed in range(days):
        sent, held = labs.deliveries(
            np.random.default_rng(seed), lab="LAB-1", results=results(50), slots=SLOTS, name="d"
        )
        resent += sum(d.resent for d in sent)
        late += bool(held)
        bad += sum(d.bad_rows > 0 for d in sent if not d.resent)
    assert 0.5 * labs.DUPLICATE_SHARE < resent / (2 * days) < 1.5 * labs.DUPLICATE_SHARE
    assert 0.5 * labs.LATE_SHARE < late / days < 1.5 * labs.LATE_SHARE
    assert 0.5 * labs.BAD_FILE_SHARE < bad / (2 * days) < 1.5 * labs.BAD_FILE_SHARE


def _instant(text: str) -> datetime:
    return parse_instant(text, tz="Asia/Shanghai", now=datetime(2022, 11, 15, 7, tzinfo=UTC))


def test_a_bad_row_is_one_the_result_intake_refuses_or_cannot_match() -> None:
    rng = np.random.default_rng(3)
    good = "T00001,positive,27.5,LAB-1,2022-11-15T13:55:00+08:00"
    for _ in range(50):
        code, outcome, ct, _, at = labs._spoil(rng, good).split(",")
        problems = 0
        for check, value in ((parse_outcome, outcome), (parse_ct, ct), (_instant, at)):
            try:
                check(value)
            except BadValue:
                problems += 1
        assert problems == 1 or (problems == 0 and code != "T00001")
