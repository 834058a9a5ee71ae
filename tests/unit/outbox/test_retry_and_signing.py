"""Retry schedule (exponential, capped, jittered, then dead letter), webhook signatures as a
receiver checks them, and the live-stream cursor that tolerates ids committed out of order."""

from __future__ import annotations

import hashlib
import hmac
import random
from datetime import UTC, datetime, timedelta

import pytest

from xietong.outbox import signing
from xietong.outbox.broadcast import TailCursor
from xietong.outbox.retry import RetrySchedule


def test_delays_double_up_to_the_cap() -> None:
    schedule = RetrySchedule(
        first_delay=timedelta(seconds=5), max_delay=timedelta(minutes=1), jitter=0.0
    )
    delays = [schedule.base_delay(n).total_seconds() for n in range(1, 7)]
    assert delays == [5, 10, 20, 40, 60, 60]


def test_jitter_stays_between_half_and_the_whole_delay() -> None:
    schedule = RetrySchedule(jitter=0.5)
    rng = random.Random(7)
    for attempts in range(1, 12):
        base = schedule.base_delay(attempts)
        for _ in range(50):
            assert base * 0.5 <= schedule.delay_after(attempts, rng) <= base


def test_a_long_lived_row_does_not_overflow_the_delay() -> None:
    assert RetrySchedule().base_delay(10_000) == RetrySchedule().max_delay


def test_attempts_run_out_at_the_maximum() -> None:
    schedule = RetrySchedule(max_attempts=3)
    assert [schedule.exhausted(n) for n in (1, 2, 3, 4)] == [False, False, True, True]


@pytest.mark.parametrize(
    ("field", "value"),
    [("first_delay", timedelta(0)), ("max_attempts", 0), ("jitter", 1.5)],
)
def test_a_bad_schedule_names_its_argument(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        RetrySchedule(**{field: value})  # type: ignore[arg-type]


def test_the_signature_is_hmac_sha256_over_timestamp_and_body() -> None:
    body = b'{"id":1}'
    expected = hmac.new(b"s3cret-s3cret-s3cret", b"1700000000." + body, hashlib.sha256)
    header = signing.signature("s3cret-s3cret-s3cret", 1_700_000_000, body)
    assert header == "v1=" + expected.hexdigest()


def test_a_receiver_refuses_a_changed_body_a_wrong_secret_and_an_old_timestamp() -> None:
    body = b'{"id":1}'
    header = signing.signature("secret-one-secret", 1_700_000_000, body)

    def ok(**changes: object) -> bool:
        args: dict[str, object] = {
            "timestamp": "1700000000",
            "body": body,
            "header": header,
            "now": 1_700_000_010.0,
        }
        args.update(changes)
        secret = str(args.pop("secret", "secret-one-secret"))
        return signing.verify(secret, **args)  # type: ignore[arg-type]

    assert ok()
    assert not ok(body=b'{"id":2}')
    assert not ok(secret="secret-two-secret")
    assert not ok(now=1_700_000_000.0 + 301)
    assert not ok(timestamp="not-a-number")


def test_the_cursor_publishes_each_id_once_and_waits_for_late_commits() -> None:
    now = datetime(2022, 11, 14, tzinfo=UTC)
    cursor = TailCursor(highest=10)
    assert cursor.accept([11, 13, 14], now) == [11, 13, 14]
    assert cursor.open_gaps() == [12]
    assert cursor.accept([13, 14], now) == []
    assert cursor.accept([12], now + timedelta(seconds=1)) == [12]
    assert cursor.open_gaps() == []


def test_a_gap_left_by_a_rolled_back_transaction_is_given_up() -> None:
    now = datetime(2022, 11, 14, tzinfo=UTC)
    cursor = TailCursor(highest=0, gap_timeout=timedelta(seconds=30))
    cursor.accept([2], now)
    assert cursor.open_gaps() == [1]
    cursor.accept([], now + timedelta(seconds=31))
    assert cursor.open_gaps() == []
