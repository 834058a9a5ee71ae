"""Locust users of the laboratory load test (driven by benchmarks/lab_load.py, which sets the
environment): laboratories posting batches of negative results at a fixed total rate, and
district coordinators holding their live stream open and browsing lists and dashboards."""

from __future__ import annotations

import itertools
import json
import os
from datetime import UTC, datetime
from typing import Any

import gevent
from locust import HttpUser, between, constant_throughput, task

BATCH = int(os.environ.get("XT_BATCH", "500"))
TUBES = int(os.environ.get("XT_TUBES", "0"))
LABS = int(os.environ.get("XT_LABS", "4"))
RATE = float(os.environ.get("XT_RATE", "10000"))
_batches = itertools.count()


class Laboratory(HttpUser):
    """Posts batch after batch of negatives; together the laboratories post RATE results/s."""

    fixed_count = LABS
    wait_time = constant_throughput(RATE / BATCH / max(1, LABS))

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Bearer {os.environ['XT_LAB_TOKEN']}"

    @task
    def post_results(self) -> None:
        k = next(_batches)
        if (k + 1) * BATCH > TUBES:
            return  # out of tubes: the run is over for this user
        reported = datetime.now(UTC).isoformat()
        body = {
            "results": [
                {
                    "tube_code": f"N{i:09d}",
                    "result": "negative",
                    "lab": "LAB-01",
                    "reported_at": reported,
                }
                for i in range(k * BATCH, (k + 1) * BATCH)
            ]
        }
        self.client.post(
            "/api/screening/results",
            data=json.dumps(body),
            headers={"Content-Type": "application/json"},
            name=f"POST results ({BATCH})",
        )


class Coordinator(HttpUser):
    """Holds the district's live stream in a greenlet and browses the inbox and the numbers."""

    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Bearer {os.environ['XT_COORDINATOR_TOKEN']}"
        self._stream = gevent.spawn(self._hold_stream)

    def on_stop(self) -> None:
        self._stream.kill()

    def _hold_stream(self) -> None:
        response: Any = self.client.get("/api/stream", stream=True, name="stream (held)")
        for _ in response.iter_lines():
            pass

    @task(3)
    def inbox(self) -> None:
        self.client.get("/api/referrals?limit=50", name="GET referrals inbox")

    @task(2)
    def aggregates(self) -> None:
        self.client.get("/api/analytics/aggregates?limit=50", name="GET daily aggregates")

    @task(1)
    def retests(self) -> None:
        self.client.get("/api/screening/retests?limit=50", name="GET retests")
