"""Waiting on a real process (a server starting, a replica replaying, a stream event arriving).

A test polls until the process answers. The ceiling only keeps a broken process from hanging the
run: it is far above what any step takes on a loaded machine, so no test depends on its speed.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from typing import TypeVar

import httpx

T = TypeVar("T")

# Seconds a test waits on a real process or a request before it calls the process broken.
PATIENCE = 600.0

# For clients of a test's own server: no request is cut short on a busy machine.
PATIENT = httpx.Timeout(PATIENCE)


def poll_until(
    answer: Callable[[], T | None],
    *,
    what: str,
    process: subprocess.Popen[str] | subprocess.Popen[bytes] | None = None,
    every: float = 0.1,
) -> T:
    """Call `answer` until it gives something other than None, and return that.

    Fails (naming `what`) if the process exits first or the wait passes `PATIENCE`."""
    give_up = time.monotonic() + PATIENCE
    while True:
        found = answer()
        if found is not None:
            return found
        if process is not None and process.poll() is not None:
            raise AssertionError(f"{what}: the process exited with {process.returncode}")
        if time.monotonic() > give_up:
            raise AssertionError(f"{what}: nothing after {PATIENCE:.0f} s")
        time.sleep(every)


def health(url: str) -> dict[str, object] | None:
    """A server's /health answer, or None while it is not yet listening."""
    try:
        response = httpx.get(f"{url}/health", timeout=PATIENT)
    except httpx.TransportError:
        return None
    return dict(response.json()) if response.status_code == 200 else None
