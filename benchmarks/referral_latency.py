"""Latency of a cross-district referral under load: from the HTTP request that posts a positive
pool result to the referral's SSE event on the receiving district's open stream, while another
process posts negative results at a steady rate (issue 4: p99 under 1 s on PostgreSQL).

Usage: .venv/bin/python -m benchmarks.referral_latency [--referrals 1000] [--load-rate 10000]
       [--pace 10] [--postgres-url URL] [--skip-sqlite] [--load-via api|intake] [--servers 2]

Per backend, in a fresh database (PostgreSQL when a URL is given, default
XIETONG_TEST_DATABASE_URL; SQLite unless skipped): synthetic persons imported from CSV, one
sampling site in SENDER and every tube registered through the screening service — N positive pools
of which one member lives in RECEIVER (so that the results intake opens a referral to RECEIVER),
and enough negative pools on earlier rounds to feed the load for the whole run. Then
`python -m xietong serve` starts (two processes on PostgreSQL: the positives go to the first,
the receiving district's stream is open on the second, so that every event crosses processes
through LISTEN/NOTIFY; one on SQLite, its single dispatcher), a load process posts negative
results in batches to POST /api/screening/results at `--load-rate` (or ingests them through the
intake flow directly with `--load-via intake`), and the N positives are posted one at a time to
the same endpoint at `--pace` per second, however long the answers take. Printed: latency
p50/p90/p99/max, the request's own duration, events received against expected, the load rate
actually achieved while the positives were posted, and the CPU each process group and the rest
of the machine used meanwhile (figures on a shared machine depend on what else runs).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as day_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from tests.functional.outbox.live import RECEIVER, SENDER, Server

from benchmarks.databases import drop_postgresql, fresh_postgresql
from benchmarks.people_import import write_persons_csv
from xietong.core.wallclock import SystemClock

TZ = "Asia/Shanghai"
SITE = "S-LATENCY"
LAB = "LAB-01"
PERSONS_PER_BUILDING = 100


def load_tube_code(k: int) -> str:
    return f"N{k:09d}"


def positive_tube_code(j: int) -> str:
    return f"P{j:07d}"


def load_tubes_needed(*, referrals: int, rate: float, pace: float, warmup: float) -> int:
    """Negative tubes for the whole run with a margin: warm-up, the positives, the drain."""
    seconds = warmup + referrals / pace + 15
    return max(100, math.ceil(rate * seconds * 1.15))


# --- preparing the database (not measured) -----------------------------------------------------


@dataclass
class Prepared:
    pools: list[tuple[str, int]]  # positive pool's tube code, its member living in RECEIVER
    load_tubes: int
    tokens: dict[str, str]
    persons: int
    memberships: int
    seconds: float


def prepare(url: str, folder: Path, *, referrals: int, load_tubes: int, pool: int) -> Prepared:
    """Areas, persons (one in ten living in RECEIVER), the site, the tubes and the users."""
    from sqlalchemy import text

    from xietong.areas import service as areas_service
    from xietong.auth import service as auth_service
    from xietong.auth.schemas import UserCreate
    from xietong.bootstrap import prepare_database
    from xietong.config import Settings
    from xietong.core.principal import SYSTEM, Role
    from xietong.people import service as people_service
    from xietong.people.models import Person
    from xietong.people.protection import PersonalDataProtector
    from xietong.screening import service as screening_service
    from xietong.screening.schemas import SiteCreate
    from xietong.storage.engine import build_engine, session_factory
    from xietong.storage.unit_of_work import unit_of_work

    started = time.perf_counter()
    # Enough persons that each positive pool has its own member from RECEIVER (one in ten lives
    # there); the negative pools reuse them on earlier rounds (a person is in one tube a round).
    persons = max(10 * referrals + 10 * pool, min(100_000, load_tubes * pool // 20 + 1))
    per_round = persons // pool
    engine = build_engine(url)
    prepare_database(engine)
    factory = session_factory(engine)
    protector = PersonalDataProtector.from_settings(Settings(database_url=url))
    buildings = max(10, persons // PERSONS_PER_BUILDING)
    with unit_of_work(factory, clock=SystemClock()) as session:
        areas_service.generate_synthetic_areas(
            session,
            buildings_per_district={SENDER: buildings - buildings // 10, RECEIVER: buildings // 10},
            seed=4,
        )
        codes = list(areas_service.iter_building_codes(session))
    persons_csv = folder / "persons.csv"
    write_persons_csv(persons_csv, persons=persons, building_codes=codes)
    with (
        unit_of_work(factory, clock=SystemClock()) as session,
        persons_csv.open(encoding="utf-8", newline="") as stream,
    ):
        people_service.import_persons(
            session, principal=SYSTEM, protector=protector, stream=stream, source_name="latency"
        )
    with unit_of_work(factory, clock=SystemClock()) as session:
        receiver_id = areas_service.get_district(session, code=RECEIVER).id
        screening_service.create_site(
            session,
            principal=SYSTEM,
            site_in=SiteCreate(code=SITE, name="采样点", district_code=SENDER),
            now=datetime.now(UTC),
        )
        rows = session.execute(
            people_service.visible_persons(SYSTEM, at=datetime.now(UTC))
            .with_only_columns(Person.id, Person.residence_district_id)
            .order_by(Person.id)
        ).all()
    everyone = [pid for pid, _ in rows]
    receivers = [pid for pid, district in rows if district == receiver_id]
    others = [pid for pid, district in rows if district != receiver_id]
    if len(receivers) < referrals or len(others) < referrals * (pool - 1):
        raise RuntimeError("not enough synthetic persons for the positive pools")
    now = datetime.now(UTC)
    positive_at = now - timedelta(minutes=5)
    today = positive_at.astimezone(ZoneInfo(TZ)).date()
    tubes_csv = folder / "tubes.csv"
    pools: list[tuple[str, int]] = []
    memberships = 0
    with tubes_csv.open("w", encoding="utf-8") as out:
        out.write("tube_code,site_code,collected_at,pool_size,person_id\n")
        at = positive_at.isoformat()
        for j in range(referrals):
            code = positive_tube_code(j)
            members = [receivers[j], *others[j * (pool - 1) : (j + 1) * (pool - 1)]]
            out.writelines(f"{code},{SITE},{at},{pool},{p}\n" for p in members)
            pools.append((code, receivers[j]))
            memberships += len(members)
        for k in range(load_tubes):
            day, slot = divmod(k, per_round)
            if slot == 0:
                noon = datetime.combine(today - timedelta(days=day + 1), day_time(12), ZoneInfo(TZ))
                at = noon.isoformat()
            code = load_tube_code(k)
            out.writelines(
                f"{code},{SITE},{at},{pool},{p}\n"
                for p in everyone[slot * pool : (slot + 1) * pool]
            )
            memberships += pool
    with (
        unit_of_work(factory, clock=SystemClock()) as session,
        tubes_csv.open(encoding="utf-8", newline="") as stream,
    ):
        report = screening_service.register_tubes_file(
            session,
            principal=SYSTEM,
            stream=stream,
            source_name="latency",
            tz=TZ,
            now=now,
            protector=protector,
            expected_rows=memberships,
        )
    if report.tubes_added != referrals + load_tubes or report.rows_rejected:
        raise RuntimeError(f"tubes not registered as planned: {report}")
    tokens: dict[str, str] = {}
    with unit_of_work(factory, clock=SystemClock()) as session:
        for name, role, district in (
            ("lab", Role.lab, None),
            ("receiver", Role.district_coordinator, RECEIVER),
        ):
            user = auth_service.create_user(
                session,
                user_in=UserCreate(username=f"latency-{name}", role=role, district_code=district),
                district_id=areas_service.district_id_of(session, code=district),
                now=datetime.now(UTC),
            )
            tokens[name] = auth_service.issue_token(session, user=user)
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                text("VACUUM ANALYZE")
            )
    engine.dispose()
    return Prepared(
        pools=pools,
        load_tubes=load_tubes,
        tokens=tokens,
        persons=persons,
        memberships=memberships,
        seconds=time.perf_counter() - started,
    )


# --- the load: another process posting negative results at a steady rate ----------------------


def _negatives(first: int, count: int) -> list[dict[str, Any]]:
    reported = datetime.now(UTC).isoformat()
    return [
        {"tube_code": load_tube_code(k), "result": "negative", "lab": LAB, "reported_at": reported}
        for k in range(first, first + count)
    ]


def _load(
    via: str,
    targets: list[str],
    token: str,
    tubes: int,
    rate: float,
    batch: int,
    workers: int,
    running: Any,
    stop: Any,
    out: Any,
) -> None:
    """Post batch k of `batch` negative results at k·batch/rate seconds after the start, with up
    to `workers` batches in flight; a batch that cannot start on time starts as soon as it can.
    Reports each batch's completion (wall clock, results applied) so that the achieved rate can
    be read over any window."""
    interval = batch / rate
    done: list[tuple[float, int, float]] = []
    failures: list[str] = []
    lock = threading.Lock()
    slots = threading.BoundedSemaphore(workers)
    local = threading.local()

    def post_api(k: int) -> int:
        # Batches go round the servers, as a load balancer would spread them.
        target = targets[k % len(targets)]
        clients: dict[str, httpx.Client] = local.__dict__.setdefault("clients", {})
        client = clients.get(target)
        if client is None:
            client = clients[target] = httpx.Client(
                base_url=target,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                timeout=120,
            )
        body = json.dumps({"results": _negatives(k * batch, batch)})
        response = client.post("/api/screening/results", content=body)
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code}: {response.text[:300]}")
        return int(response.json()["results"]["applied"])

    ingest: Any = None
    if via == "intake":
        from xietong.core.principal import SYSTEM
        from xietong.flows import intake
        from xietong.screening.schemas import LabResultBatch
        from xietong.storage.engine import build_engine, session_factory
        from xietong.storage.unit_of_work import unit_of_work

        factory = session_factory(build_engine(targets[0]))

        def ingest(k: int) -> int:
            results = LabResultBatch.model_validate({"results": _negatives(k * batch, batch)})
            with unit_of_work(factory, clock=SystemClock()) as session:
                report = intake.ingest_lab_results(
                    session, principal=SYSTEM, tz=TZ, now=datetime.now(UTC), batch=results
                )
            return report.results.applied

    def one(k: int) -> None:
        started = time.perf_counter()
        try:
            applied = ingest(k) if ingest is not None else post_api(k)
        except Exception as exc:  # counted and reported, the load goes on
            with lock:
                failures.append(f"{type(exc).__name__}: {exc}"[:300])
        else:
            with lock:
                done.append((time.time(), applied, time.perf_counter() - started))
            running.set()
        finally:
            slots.release()

    pool = ThreadPoolExecutor(max_workers=workers)
    start = time.perf_counter()
    k = 0
    ran_out = False
    while not stop.is_set():
        if (k + 1) * batch > tubes:
            ran_out = True
            break
        delay = start + k * interval - time.perf_counter()
        if delay > 0 and stop.wait(delay):
            break
        slots.acquire()
        pool.submit(one, k)
        k += 1
    behind = max(0.0, time.perf_counter() - (start + k * interval))
    pool.shutdown(wait=True)
    out.put({"batches": done, "failures": failures, "ran_out": ran_out, "behind_s": behind})


# --- the stream and the positives --------------------------------------------------------------


@dataclass
class Listener:
    """The receiving district's open stream, read in a thread: arrival time per person."""

    base: str
    token: str
    expected: set[int]
    arrived: dict[int, float] = field(default_factory=dict)
    unexpected: int = 0
    ready: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    error: str | None = None

    def start(self) -> Listener:
        threading.Thread(target=self._read, daemon=True).start()
        if not self.ready.wait(60):
            raise RuntimeError(f"the stream did not open: {self.error}")
        return self

    def _read(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            with (
                httpx.Client(base_url=self.base, timeout=httpx.Timeout(10, read=None)) as client,
                client.stream(
                    "GET", "/api/stream?topic=referral.pushed", headers=headers
                ) as response,
            ):
                response.raise_for_status()
                self.ready.set()
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    now = time.perf_counter()
                    payload = json.loads(line[5:])["payload"]
                    person = payload["person_id"]
                    if person in self.expected and payload["to_district"] == RECEIVER:
                        self.arrived.setdefault(person, now)
                    else:
                        self.unexpected += 1
                    if len(self.arrived) >= len(self.expected):
                        self.done.set()
                        return
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            self.ready.set()
            self.done.set()


@dataclass
class Sent:
    at: float  # perf_counter when the request was sent
    answered: float  # when its answer arrived
    attempts: int


def post_positives(
    base: str, token: str, pools: list[tuple[str, int]], pace: float
) -> dict[int, Sent]:
    """One positive pool result per request, the way a laboratory posts it, sent at `pace` per
    second whatever the answers take (a slow answer does not delay the next request)."""
    sent: dict[int, Sent] = {}
    headers = {"Authorization": f"Bearer {token}"}

    def post(code: str, person: int) -> None:
        body = {
            "results": [
                {
                    "tube_code": code,
                    "result": "positive",
                    "ct_value": 27.5,
                    "lab": LAB,
                    "reported_at": datetime.now(UTC).isoformat(),
                }
            ]
        }
        at = time.perf_counter()
        attempts = 0
        while True:  # a server error (SQLite: "database is locked") is retried; results are
            attempts += 1  # idempotent, and the latency counts from the first attempt
            try:
                response = client.post("/api/screening/results", json=body)
            except httpx.TransportError:
                if attempts >= 10:
                    raise
                continue
            if response.status_code < 500 or attempts >= 10:
                break
        response.raise_for_status()
        sent[person] = Sent(at=at, answered=time.perf_counter(), attempts=attempts)

    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    with (
        httpx.Client(base_url=base, headers=headers, timeout=120, limits=limits) as client,
        ThreadPoolExecutor(max_workers=64, thread_name_prefix="positive") as pool,
    ):
        start = time.perf_counter()
        futures = []
        for j, (code, person) in enumerate(pools):
            delay = start + j / pace - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(post, code, person))
        for future in futures:
            future.result()
    return sent


def percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted values."""
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50_ms": percentile(ordered, 0.50),
        "p90_ms": percentile(ordered, 0.90),
        "p99_ms": percentile(ordered, 0.99),
        "max_ms": ordered[-1] if ordered else math.nan,
    }


# --- where the machine's CPU went while the positives were posted (Linux /proc) ---------------


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_busy_seconds() -> float:
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _database_backends(url: str) -> list[int]:
    """PostgreSQL backends serving the benchmark's database (none on SQLite)."""
    if not url.startswith("postgresql"):
        return []
    from sqlalchemy import text

    from xietong.storage.engine import build_engine

    engine = build_engine(url)
    with engine.connect() as connection:
        pids = list(
            connection.execute(
                text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()"
                )
            ).scalars()
        )
    engine.dispose()
    return pids


@dataclass
class CpuWindow:
    """CPU seconds used by each group of processes between `start` and `stop` (PostgreSQL: the
    backends of the benchmark's database, those opened meanwhile included)."""

    groups: dict[str, list[int]]
    url: str
    started: dict[int, float] = field(default_factory=dict)
    used: dict[str, float] = field(default_factory=dict)
    machine: float = 0.0
    wall: float = 0.0

    def start(self) -> None:
        self.groups["postgresql"] = _database_backends(self.url)
        self.started = {pid: _cpu_seconds(pid) for pids in self.groups.values() for pid in pids}
        self.machine = _machine_busy_seconds()
        self.wall = time.perf_counter()

    def stop(self) -> None:
        self.wall = time.perf_counter() - self.wall
        self.groups["postgresql"] = sorted(
            set(self.groups["postgresql"]) | set(_database_backends(self.url))
        )
        for group, pids in self.groups.items():
            # A process gone meanwhile counts nothing (its last CPU time is unknown).
            self.used[group] = sum(
                max(0.0, _cpu_seconds(p) - self.started.get(p, 0.0)) for p in pids
            )
        self.used["machine"] = _machine_busy_seconds() - self.machine
        self.used["other work"] = self.used["machine"] - sum(
            v for g, v in self.used.items() if g != "machine"
        )

    def cores(self) -> dict[str, float]:
        return {g: v / max(self.wall, 1e-9) for g, v in self.used.items()}


def measure(url: str, folder: Path, args: argparse.Namespace, servers: int) -> dict[str, Any]:
    load_tubes = load_tubes_needed(
        referrals=args.referrals, rate=args.load_rate, pace=args.pace, warmup=args.warmup
    )
    prepared = prepare(url, folder, referrals=args.referrals, load_tubes=load_tubes, pool=args.pool)
    logs = Path(args.logs) if args.logs else folder
    logs.mkdir(parents=True, exist_ok=True)
    processes = [
        Server(url, log=logs / f"{url.split(':')[0].split('+')[0]}-server-{i}.log").start()
        for i in range(servers)
    ]
    context = multiprocessing.get_context("spawn")
    running, stop, out = context.Event(), context.Event(), context.Queue()
    load: Any = None
    try:
        listener = Listener(
            processes[-1].base,
            prepared.tokens["receiver"],
            expected={person for _, person in prepared.pools},
        ).start()
        batch = max(1, round(args.load_rate * args.load_interval))
        load = context.Process(
            target=_load,
            args=(
                args.load_via,
                [p.base for p in processes] if args.load_via == "api" else [url],
                prepared.tokens["lab"],
                prepared.load_tubes,
                args.load_rate,
                batch,
                args.load_workers,
                running,
                stop,
                out,
            ),
        )
        load.start()
        if not running.wait(120):
            raise RuntimeError("the load did not start (see the server log)")
        time.sleep(args.warmup)
        cpu = CpuWindow(
            groups={
                **{
                    f"server {i}": [p.process.pid]
                    for i, p in enumerate(processes)
                    if p.process is not None
                },
                "load process": [load.pid],
                "this process": [os.getpid()],
            },
            url=url,
        )
        cpu.start()
        window_start = time.time()
        started = time.perf_counter()
        sent = post_positives(processes[0].base, prepared.tokens["lab"], prepared.pools, args.pace)
        posting_seconds = time.perf_counter() - started
        window_end = time.time()
        cpu.stop()
        listener.done.wait(30)
        stop.set()
        loaded = out.get(timeout=300)
        load.join()
    finally:
        stop.set()
        if load is not None and load.is_alive():
            load.terminate()
        for process in processes:
            process.stop()
    in_window = [n for at, n, _ in loaded["batches"] if window_start <= at <= window_end]
    batch_seconds = sorted(s * 1000 for _, _, s in loaded["batches"])
    applied = sum(n for _, n, _ in loaded["batches"])
    latencies = [
        (listener.arrived[p] - s.at) * 1000 for p, s in sent.items() if p in listener.arrived
    ]
    in_order = sorted((s.at, p) for p, s in sent.items() if p in listener.arrived)
    tenth = max(1, math.ceil(len(in_order) / 10))
    ordered = [
        [(listener.arrived[p] - at) * 1000 for at, p in in_order[i : i + tenth]]
        for i in range(0, len(in_order), tenth)
    ]
    return {
        "referrals": len(sent),
        "received": len(latencies),
        "unexpected_events": listener.unexpected,
        "stream_error": listener.error,
        "latency": _summary(latencies),
        "request": _summary([(s.answered - s.at) * 1000 for s in sent.values()]),
        # In the order sent: does the latency grow as the day's positives accumulate?
        "p50_by_tenth_ms": [percentile(sorted(part), 0.5) for part in ordered],
        "retried_positives": sum(1 for s in sent.values() if s.attempts > 1),
        "pace_achieved": len(sent) / posting_seconds,
        "posting_seconds": posting_seconds,
        "servers": servers,
        "cpu_cores": cpu.cores(),
        "cores": os.cpu_count(),
        "load_average": os.getloadavg(),
        "load": {
            "via": args.load_via,
            "target_rate": args.load_rate,
            "batch": batch,
            "rate_during_positives": sum(in_window) / max(1e-9, window_end - window_start),
            "applied": applied,
            "batches": len(loaded["batches"]),
            "failed_batches": len(loaded["failures"]),
            "first_failure": loaded["failures"][0] if loaded["failures"] else None,
            "batch_p50_ms": percentile(batch_seconds, 0.5),
            "batch_p99_ms": percentile(batch_seconds, 0.99),
            "behind_schedule_s": loaded["behind_s"],
            "ran_out_of_tubes": loaded["ran_out"],
        },
        "prepare": {
            "persons": prepared.persons,
            "tubes": args.referrals + prepared.load_tubes,
            "memberships": prepared.memberships,
            "seconds": prepared.seconds,
        },
    }


def report(backend: str, f: dict[str, Any]) -> None:
    lat, req, load = f["latency"], f["request"], f["load"]
    print(
        f"{backend} ({f['servers']} server process{'es' if f['servers'] > 1 else ''}; "
        f"prepared {f['prepare']['persons']:,} persons, {f['prepare']['tubes']:,} tubes, "
        f"{f['prepare']['memberships']:,} memberships in {f['prepare']['seconds']:.0f} s):\n"
        f"  referrals: {f['received']}/{f['referrals']} events received "
        f"({f['unexpected_events']} unexpected); positives posted at {f['pace_achieved']:.1f}/s"
        f"; {f['retried_positives']} retried after a server error\n"
        f"  request → SSE event: p50 {lat['p50_ms']:.0f} ms, p90 {lat['p90_ms']:.0f} ms, "
        f"p99 {lat['p99_ms']:.0f} ms, max {lat['max_ms']:.0f} ms\n"
        f"  the request alone:   p50 {req['p50_ms']:.0f} ms, p90 {req['p90_ms']:.0f} ms, "
        f"p99 {req['p99_ms']:.0f} ms, max {req['max_ms']:.0f} ms\n"
        f"  latency p50 by tenth of the run: "
        f"{', '.join(f'{v:.0f}' for v in f['p50_by_tenth_ms'])} ms\n"
        f"  load ({load['via']}, batches of {load['batch']:,}): "
        f"{load['rate_during_positives']:,.0f} results/s achieved while the positives were "
        f"posted (target {load['target_rate']:,.0f}/s); {load['applied']:,} applied in "
        f"{load['batches']:,} batches, {load['failed_batches']} failed; batch p50 "
        f"{load['batch_p50_ms']:.0f} ms, p99 {load['batch_p99_ms']:.0f} ms; "
        f"{load['behind_schedule_s']:.1f} s behind schedule at the end"
        f"{'; RAN OUT OF TUBES' if load['ran_out_of_tubes'] else ''}"
    )
    cores = f["cpu_cores"]
    print(
        f"  CPU while posting ({f['cores']} cores): machine {cores['machine']:.2f} cores busy; "
        + ", ".join(f"{g} {v:.2f}" for g, v in cores.items() if g != "machine")
    )
    if load["first_failure"]:
        print(f"  first load failure: {load['first_failure']}")
    if f["stream_error"]:
        print(f"  stream error: {f['stream_error']}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--referrals", type=int, default=1_000, help="positive pools posted")
    parser.add_argument("--load-rate", type=float, default=10_000, help="negative results/s")
    parser.add_argument("--pace", type=float, default=10, help="positive pools posted per second")
    parser.add_argument("--postgres-url", default=os.environ.get("XIETONG_TEST_DATABASE_URL"))
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument(
        "--load-via",
        choices=["api", "intake"],
        default="api",
        help="post the load to the results API (default) or run the intake flow in the load "
        "process",
    )
    parser.add_argument("--servers", type=int, default=2, help="server processes on PostgreSQL")
    parser.add_argument("--load-interval", type=float, default=0.1, help="seconds per batch")
    parser.add_argument("--load-workers", type=int, default=4, help="batches in flight at most")
    parser.add_argument("--pool", type=int, default=10, help="swabs per tube")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load before")
    parser.add_argument("--logs", help="keep the servers' logs in this folder")
    args = parser.parse_args(argv)
    figures: dict[str, Any] = {}
    if args.postgres_url:
        with tempfile.TemporaryDirectory(prefix="xietong-latency-") as folder:
            url, name = fresh_postgresql(args.postgres_url)
            try:
                figures["postgresql"] = measure(url, Path(folder), args, args.servers)
            finally:
                drop_postgresql(args.postgres_url, name)
        report("postgresql", figures["postgresql"])
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory(prefix="xietong-latency-") as folder:
            url = f"sqlite:///{Path(folder) / 'latency.sqlite'}"
            figures["sqlite"] = measure(url, Path(folder), args, 1)
        report("sqlite", figures["sqlite"])
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])
