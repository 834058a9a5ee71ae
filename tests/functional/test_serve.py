"""`xietong serve` in a real process: migrates an empty database, prints its URL, is healthy;
with `--workers N` runs N processes on one port (PostgreSQL only); believes a reverse proxy's
`X-Forwarded-Proto` only from the addresses `--forwarded-allow-ips` names."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests.polling import PATIENT, health, poll_until
from xietong.cli import context
from xietong.cli.main import app as cli

# What a TLS-terminating proxy adds to the requests it passes on.
OVER_TLS = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}


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
        base = f"http://127.0.0.1:{port}"
        body = poll_until(lambda: health(base), what="the server's start", process=process)
        assert body["status"] == "ok"
        # No proxy named: a client claiming TLS is not believed (no HSTS on plain HTTP).
        claimed = httpx.get(f"{base}/health", headers=OVER_TLS, timeout=PATIENT)
        assert "strict-transport-security" not in claimed.headers
    finally:
        process.terminate()
        output, _ = process.communicate()
    assert f"http://127.0.0.1:{port}" in output


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


@pytest.mark.slow
def test_serve_with_two_workers_runs_two_processes_on_one_port(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not database_url.startswith("postgresql"):
        # The command's settings and engine are built once per process: from this test's URL.
        monkeypatch.setenv("XIETONG_DATABASE_URL", database_url)
        context.settings.cache_clear()
        context.engine.cache_clear()
        try:
            result = CliRunner().invoke(cli, ["serve", "--workers", "2"])
        finally:
            context.settings.cache_clear()
            context.engine.cache_clear()
        assert result.exit_code == 2
        assert "needs PostgreSQL" in result.output
        return
    port = free_port()
    env = {**os.environ, "XIETONG_DATABASE_URL": database_url, "COLUMNS": "200"}
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "xietong", "serve", "--port", str(port), "--workers", "2"),
            *("--forwarded-allow-ips", "127.0.0.1"),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        answered = 0

        def both_workers_answer() -> bool | None:
            nonlocal answered
            answered += health(f"http://127.0.0.1:{port}") is not None
            return True if answered >= 5 and len(_children(process.pid)) >= 2 else None

        poll_until(both_workers_answer, what="two workers' start", process=process)
        assert answered >= 5
        # uvicorn's supervisor forks one child per worker (the multiprocessing resource tracker
        # may be a third).
        assert len(_children(process.pid)) >= 2
        # The proxy on 127.0.0.1 terminated TLS: the answer says so (HSTS).
        proxied = httpx.get(f"http://127.0.0.1:{port}/health", headers=OVER_TLS, timeout=PATIENT)
        assert proxied.headers["strict-transport-security"] == "max-age=31536000"
    finally:
        process.terminate()
        output, _ = process.communicate()
    assert "2 processes" in output
