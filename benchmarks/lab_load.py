"""Laboratories at city rate through the API, with locust (headless, on this machine): the
laboratories post batches of negative results at `--rate` results/s while district
coordinators hold their live stream and browse the inbox and the numbers, and positive pools
are posted at `--pace` per second whose member lives in another district; measured: the
positive's time from its request to the referral on that district's open stream, and locust's
rates and percentiles per kind of request.

Usage: .venv/bin/python -m benchmarks.lab_load [--rate 10000] [--seconds 60] [--pace 10]
       [--workers 2] [--coordinators 20] [--batch 500] [--postgres-url URL] [--skip-sqlite]
       [--sqlite-rate 1000]

Per backend, a fresh database prepared as `benchmarks.referral_latency` does (persons, the
sampling site, every tube registered), then `xietong serve --workers N` (one process on SQLite,
whose writers are served in arrival order) and `locust --headless` against it. On SQLite the
load is `--sqlite-rate`: the rate it holds with p99 under a second on this machine is found by
running it at a few rates. Figures on a shared machine depend on what else runs: the load
average is printed with them.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from tests.functional.outbox.live import SENDER, free_port

from benchmarks.databases import drop_postgresql, fresh_postgresql
from benchmarks.referral_latency import (
    Listener,
    _summary,
    load_tubes_needed,
    post_positives,
    prepare,
)

LABS = 4


def _serve(url: str, workers: int, log: Path) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    env = {**os.environ, "XIETONG_DATABASE_URL": url, "COLUMNS": "200"}
    with log.open("a") as handle:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "xietong",
                "serve",
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            text=True,
        )
    base = f"http://127.0.0.1:{port}"
    for _ in range(1200):  # migrating and starting; polling the real process for 2 minutes
        try:
            if httpx.get(f"{base}/health").status_code == 200:
                return process, base
        except httpx.TransportError:
            if process.poll() is not None:
                break
            time.sleep(0.1)
    raise RuntimeError(f"server did not start: {log.read_text()[-3000:]}")


def _coordinator_token(url: str) -> str:
    from xietong.areas import service as areas_service
    from xietong.auth import service as auth_service
    from xietong.auth.schemas import UserCreate
    from xietong.core.principal import Role
    from xietong.core.wallclock import SystemClock
    from xietong.storage.engine import build_engine, session_factory
    from xietong.storage.unit_of_work import unit_of_work

    engine = build_engine(url)
    clock = SystemClock()
    with unit_of_work(session_factory(engine), clock=clock) as session:
        user = auth_service.create_user(
            session,
            user_in=UserCreate(
                username="load-coordinator", role=Role.district_coordinator, district_code=SENDER
            ),
            district_id=areas_service.district_id_of(session, code=SENDER),
            now=clock.now(),
        )
        token = auth_service.issue_token(session, user=user)
    engine.dispose()
    return token


def _locust_stats(prefix: Path) -> dict[str, dict[str, float]]:
    stats: dict[str, dict[str, float]] = {}
    with Path(f"{prefix}_stats.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            stats[row["Name"]] = {
                "requests": float(row["Request Count"]),
                "failures": float(row["Failure Count"]),
                "per_second": float(row["Requests/s"]),
                "p50_ms": float(row["50%"] or "nan"),
                "p90_ms": float(row["90%"] or "nan"),
                "p99_ms": float(row["99%"] or "nan"),
                "max_ms": float(row["100%"] or "nan"),
            }
    return stats


def measure(url: str, folder: Path, args: argparse.Namespace, *, rate: float, workers: int) -> Any:
    referrals = max(1, round(args.pace * args.seconds))
    tubes = load_tubes_needed(referrals=referrals, rate=rate, pace=args.pace, warmup=args.warmup)
    prepared = prepare(url, folder, referrals=referrals, load_tubes=tubes, pool=10)
    coordinator = _coordinator_token(url)
    server, base = _serve(url, workers, folder / "server.log")
    locust = None
    try:
        listener = Listener(
            base, prepared.tokens["receiver"], expected={p for _, p in prepared.pools}
        ).start()
        users = LABS + args.coordinators
        prefix = folder / "locust"
        env = {
            **os.environ,
            "XT_BATCH": str(args.batch),
            "XT_TUBES": str(prepared.load_tubes),
            "XT_LABS": str(LABS),
            "XT_RATE": str(rate),
            "XT_LAB_TOKEN": prepared.tokens["lab"],
            "XT_COORDINATOR_TOKEN": coordinator,
        }
        run_time = round(args.warmup + args.seconds + 5)
        with (folder / "locust.log").open("w") as log:
            locust = subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "locust"),
                    *("-f", str(Path(__file__).with_name("lab_locust.py"))),
                    *("--headless", "--only-summary", "--host", base),
                    *("-u", str(users), "-r", str(users), "--run-time", f"{run_time}s"),
                    *("--csv", str(prefix), "--stop-timeout", "10"),
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )
        time.sleep(args.warmup)
        started = time.perf_counter()
        sent = post_positives(base, prepared.tokens["lab"], prepared.pools, args.pace)
        posting = time.perf_counter() - started
        listener.done.wait(30)
        locust.wait()
        load_average = os.getloadavg()
        stats = _locust_stats(prefix)
    finally:
        if locust is not None and locust.poll() is None:
            locust.terminate()
            locust.wait()
        server.terminate()
        server.wait()
    posts = stats.get(f"POST results ({args.batch})", {})
    latencies = [
        (listener.arrived[p] - s.at) * 1000 for p, s in sent.items() if p in listener.arrived
    ]
    return {
        "workers": workers,
        "target_rate": rate,
        "results_per_second": posts.get("per_second", 0.0) * args.batch,
        "locust": stats,
        "positives": len(sent),
        "received": len(latencies),
        "latency": _summary(latencies),
        "pace_achieved": len(sent) / posting,
        "load_average": load_average,
        "prepare_seconds": prepared.seconds,
    }


def report(backend: str, f: dict[str, Any]) -> None:
    lat = f["latency"]
    print(
        f"{backend}, {f['workers']} server process{'es' if f['workers'] > 1 else ''}: "
        f"{f['results_per_second']:,.0f} results/s posted (target {f['target_rate']:,.0f}); "
        f"positive → other district's stream {f['received']}/{f['positives']}: p50 "
        f"{lat['p50_ms']:.0f} ms, p90 {lat['p90_ms']:.0f} ms, p99 {lat['p99_ms']:.0f} ms, max "
        f"{lat['max_ms']:.0f} ms; load average {f['load_average'][0]:.1f}"
    )
    for name, s in f["locust"].items():
        print(
            f"  {name:<28} {s['requests']:>8,.0f} requests {s['failures']:>5,.0f} failed "
            f"{s['per_second']:>8,.1f}/s  p50 {s['p50_ms']:>6,.0f} p90 {s['p90_ms']:>6,.0f} "
            f"p99 {s['p99_ms']:>6,.0f} max {s['max_ms']:>6,.0f} ms"
        )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=10_000, help="results/s on PostgreSQL")
    parser.add_argument("--sqlite-rate", type=float, default=1_000, help="results/s on SQLite")
    parser.add_argument("--seconds", type=float, default=60, help="seconds of positives posted")
    parser.add_argument("--pace", type=float, default=10, help="positive pools per second")
    parser.add_argument("--workers", type=int, default=2, help="server processes (PostgreSQL)")
    parser.add_argument("--coordinators", type=int, default=20)
    parser.add_argument("--batch", type=int, default=500, help="results per request")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--postgres-url", default=os.environ.get("XIETONG_TEST_DATABASE_URL"))
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args(argv)
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="xietong-lab-load-") as tmp:
        if args.postgres_url:
            url, name = fresh_postgresql(args.postgres_url, prefix="xietong_load")
            try:
                folder = Path(tmp) / "postgresql"
                folder.mkdir()
                figures["postgresql"] = measure(
                    url, folder, args, rate=args.rate, workers=args.workers
                )
            finally:
                drop_postgresql(args.postgres_url, name)
        if not args.skip_sqlite:
            folder = Path(tmp) / "sqlite"
            folder.mkdir()
            figures["sqlite"] = measure(
                f"sqlite:///{folder / 'load.sqlite'}",
                folder,
                args,
                rate=args.sqlite_rate,
                workers=1,
            )
    for backend, f in figures.items():
        report(backend, f)
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])
