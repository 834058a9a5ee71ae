"""Latency of a referral from the request that creates it to the SSE event arriving at the
receiving district's open stream: p50 and p99 over N referrals, on a real `xietong serve`.

Usage: .venv/bin/python -m benchmarks.referral_latency --referrals 1000 [--postgres-url URL]
The PostgreSQL URL defaults to XIETONG_TEST_DATABASE_URL (a fresh database is created and
dropped). Referrals are created by hand (POST /api/referrals), one after another.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from tests.functional.outbox.live import Server, drop_database, fresh_database, prepare_city


def _measure(url: str, referrals: int, folder: Path) -> dict[str, Any]:
    city = prepare_city(url, persons=referrals, webhook_url=None)
    server = Server(url, log=folder / "server.log").start()
    arrived: dict[int, float] = {}
    ready = threading.Event()
    done = threading.Event()

    def listen() -> None:
        headers = {"Authorization": f"Bearer {city.tokens['receiver']}"}
        with (
            httpx.Client(base_url=server.base, timeout=httpx.Timeout(5, read=None)) as client,
            client.stream("GET", "/api/stream?topic=referral.pushed", headers=headers) as response,
        ):
            ready.set()
            for line in response.iter_lines():
                if line.startswith("data:"):
                    event = json.loads(line.split(":", 1)[1])
                    arrived[event["payload"]["referral_id"]] = time.perf_counter()
                    if len(arrived) >= referrals:
                        done.set()
                        return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    ready.wait(30)
    sent: dict[int, float] = {}
    headers = {"Authorization": f"Bearer {city.tokens['sender']}"}
    try:
        with httpx.Client(base_url=server.base, headers=headers, timeout=30) as client:
            for index, person_id in enumerate(city.person_ids):
                started = time.perf_counter()
                for _ in range(20):  # SQLite may answer "database is locked": retry, idempotent
                    try:
                        response = client.post(
                            "/api/referrals",
                            json={"person_id": person_id, "evidence": f"latency-{index}"},
                        )
                    except httpx.TransportError:
                        continue
                    if response.status_code < 500:
                        break
                response.raise_for_status()
                sent[response.json()["referral"]["id"]] = started
        done.wait(60)
    finally:
        server.stop()
    latencies = sorted((arrived[i] - sent[i]) * 1000 for i in sent if i in arrived)
    return {
        "referrals": len(sent),
        "received": len(latencies),
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[max(0, int(len(latencies) * 0.99) - 1)],
        "max_ms": latencies[-1],
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--referrals", type=int, default=1_000)
    parser.add_argument("--postgres-url", default=os.environ.get("XIETONG_TEST_DATABASE_URL"))
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args(argv)
    figures: dict[str, Any] = {}
    backends = ([] if args.skip_sqlite else ["sqlite"]) + (
        ["postgresql"] if args.postgres_url else []
    )
    for backend in backends:
        with tempfile.TemporaryDirectory(prefix="xietong-latency-") as folder:
            url, name = fresh_database(backend, Path(folder), args.postgres_url)
            try:
                figures[backend] = _measure(url, args.referrals, Path(folder))
            finally:
                drop_database(name, args.postgres_url)
        f = figures[backend]
        print(
            f"{backend:>10}: {f['received']}/{f['referrals']} events; request → SSE event "
            f"p50 {f['p50_ms']:.1f} ms, p99 {f['p99_ms']:.1f} ms, max {f['max_ms']:.1f} ms"
        )
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])
