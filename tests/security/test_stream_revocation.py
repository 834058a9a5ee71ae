"""A live stream on the real server ends when its token is revoked or its user deactivated, while
the other streams go on receiving: read from `xietong serve` on both backends, over HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.functional.outbox.live import (
    PG_URL,
    Server,
    drop_database,
    fresh_database,
    prepare_city,
)
from tests.polling import PATIENCE, PATIENT

BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
RECHECK_SECONDS = "1"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Server, dict[str, str], list[int]]]:
    url, name = fresh_database(request.param, tmp_path)
    city = prepare_city(url, persons=2, webhook_url=None)
    monkeypatch.setenv("XIETONG_STREAM_RECHECK_SECONDS", RECHECK_SECONDS)
    running = Server(url, log=tmp_path / "server.log").start()
    yield running, city.tokens, city.person_ids
    running.stop()
    drop_database(name)


class OpenStream:
    """`/api/stream` read in a thread: counts its events and notes when the server ends it."""

    def __init__(self, base: str, token: str) -> None:
        self.opened = threading.Event()
        self.ended = threading.Event()
        self.events = 0
        self._client = httpx.Client(base_url=base, timeout=httpx.Timeout(PATIENCE, read=None))
        self._thread = threading.Thread(target=self._read, args=(token,), daemon=True)
        self._thread.start()
        assert self.opened.wait(PATIENCE)

    def _read(self, token: str) -> None:
        try:
            with self._client.stream("GET", "/api/stream", headers=auth(token)) as response:
                assert response.status_code == 200
                self.opened.set()
                for line in response.iter_lines():
                    if line.startswith("data:"):
                        self.events += 1
        except httpx.HTTPError:
            pass
        finally:
            self.opened.set()
            self.ended.set()

    def seconds_until_ended(self) -> float | None:
        """Poll the stream until the server ends it (None if it is still open after `PATIENCE`)."""
        started = time.monotonic()
        return time.monotonic() - started if self.ended.wait(PATIENCE) else None

    def close(self) -> None:
        self._client.close()


def _referral(server: Server, token: str, person_id: int, evidence: str) -> None:
    answer = httpx.post(
        f"{server.base}/api/referrals",
        json={"person_id": person_id, "evidence": evidence},
        headers=auth(token),
        timeout=PATIENT,
    )
    assert answer.status_code in (200, 201), answer.text


def test_a_stream_ends_within_seconds_when_its_token_is_revoked(
    server: tuple[Server, dict[str, str], list[int]],
) -> None:
    running, tokens, persons = server
    revoked, other = (
        OpenStream(running.base, tokens["receiver"]),
        OpenStream(running.base, tokens["command"]),
    )
    try:
        mine = httpx.get(
            f"{running.base}/api/auth/tokens", headers=auth(tokens["receiver"]), timeout=PATIENT
        )
        token_id = mine.json()[0]["id"]
        gone = httpx.delete(
            f"{running.base}/api/auth/tokens/{token_id}",
            headers=auth(tokens["receiver"]),
            timeout=PATIENT,
        )
        assert gone.status_code == 204
        assert revoked.seconds_until_ended() is not None
        # The command centre's stream is still open and still receives.
        _referral(running, tokens["sender"], persons[0], "after revocation")
        while other.events == 0 and not other.ended.is_set():
            other.ended.wait(0.1)  # poll the open stream for its event
        assert other.events >= 1
        assert not other.ended.is_set()
        again = httpx.get(
            f"{running.base}/api/stream", headers=auth(tokens["receiver"]), timeout=PATIENT
        )
        assert again.status_code == 401
    finally:
        revoked.close()
        other.close()


def test_a_stream_ends_within_seconds_when_its_user_is_deactivated(
    server: tuple[Server, dict[str, str], list[int]],
) -> None:
    running, tokens, _ = server
    stream = OpenStream(running.base, tokens["third"])
    try:
        shut = httpx.post(
            f"{running.base}/api/auth/users/live-third/deactivate",
            headers=auth(tokens["command"]),
            timeout=PATIENT,
        )
        assert shut.status_code == 200, shut.text
        assert stream.seconds_until_ended() is not None
    finally:
        stream.close()
