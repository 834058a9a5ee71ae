"""`xietong serve` in a real process: migrates an empty database, prints its URL, is healthy."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_serve_starts_on_an_empty_database_and_answers_health(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "XIETONG_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite'}",
        "COLUMNS": "200",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "xietong", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        body = None
        for _ in range(600):  # the server needs a few seconds to migrate; give up after a minute
            try:
                body = httpx.get(f"http://127.0.0.1:{port}/health").json()
                break
            except httpx.TransportError:
                if process.poll() is not None:
                    break
                time.sleep(0.1)
        assert body is not None, process.stdout.read() if process.stdout else ""
        assert body["status"] == "ok"
    finally:
        process.terminate()
        output, _ = process.communicate()
    assert f"http://127.0.0.1:{port}" in output
