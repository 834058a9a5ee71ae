"""Laboratory results as HL7 v2 ORU^R01 messages through the intake, against the CSV path.

Usage: .venv/bin/python -m benchmarks.hl7_intake [--size 1000000] [--batch 50000]
       [--postgres-url URL] [--skip-sqlite] [--skip-postgresql]

Per backend, in one fresh database: 2 x SIZE tubes of two swabs are registered (not measured);
then SIZE results go through the CSV path (one file, the intake flow, one transaction) and SIZE
other results, the same outcomes, as SIZE ORU^R01 messages (one tube each, with its coded
result, Ct and specimen, as a laboratory system sends them) from one file through
`interop.service.receive_hl7`, one transaction per batch of messages, every message answered
with an ACK written to a file. It prints both rates in rows per second, their ratio, and the
rate of reading the messages alone. 0.1 % of the pools are positive (fanned out to holds,
retests and referral needs) and 0.05 % invalid. The PostgreSQL URL defaults to
XIETONG_TEST_DATABASE_URL; a fresh database is created and dropped.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchmarks.databases import drop_postgresql, fresh_postgresql
from benchmarks.screening_day import INVALID_EVERY, NOW, POSITIVE_EVERY, START, prepare, tube_code
from xietong.core.wallclock import SystemClock

POOL = 2
TZ = "Asia/Shanghai"


def _outcome(t: int) -> tuple[str, float | None]:
    if t % POSITIVE_EVERY == POSITIVE_EVERY // 2:
        return "positive", 27.5
    if t % INVALID_EVERY == 1:
        return "invalid", None
    return "negative", None


def write_files(folder: Path, size: int, first_person: int, sites: int) -> dict[str, Path]:
    """The tube file (2 x size tubes), the CSV results of the first half, the HL7 messages of
    the second."""
    from xietong.interop import hl7v2

    paths = {name: folder / name for name in ("tubes.csv", "results.csv", "results.hl7")}
    tubes = 2 * size
    seconds = 12 * 3600 / tubes
    with paths["tubes.csv"].open("w", encoding="utf-8") as out:
        out.write("tube_code,site_code,collected_at,pool_size,person_id\n")
        for t in range(tubes):
            at = (START + timedelta(seconds=int(t * seconds))).isoformat()
            head = f"{tube_code(t)},S{t * sites // tubes:06d},{at},{POOL},"
            out.write(f"{head}{first_person + POOL * t}\n{head}{first_person + POOL * t + 1}\n")
    with (
        paths["results.csv"].open("w", encoding="utf-8") as csv_out,
        paths["results.hl7"].open("w", encoding="utf-8", newline="") as hl7_out,
    ):
        csv_out.write("tube_code,result,ct_value,lab,reported_at\n")
        for k in range(size):
            outcome, ct = _outcome(k)
            for t in (k, size + k):
                collected = START + timedelta(seconds=int(t * seconds))
                reported = collected + timedelta(hours=3)
                lab = f"LAB-{k % 40:02d}"
                if t < size:
                    shown = "" if ct is None else f"{ct:g}"
                    csv_out.write(
                        f"{tube_code(t)},{outcome},{shown},{lab},{reported.isoformat()}\n"
                    )
                else:
                    hl7_out.write(
                        hl7v2.result_message(
                            control_id=f"M{k:09d}",
                            tube_code=tube_code(t),
                            outcome=outcome,
                            lab=lab,
                            reported_at=reported,
                            collected_at=collected,
                            ct=ct,
                            pooled=True,
                        )
                    )
                    hl7_out.write("\n")
    return paths


def register_tubes(url: str, path: Path) -> None:
    from xietong.config import Settings
    from xietong.core.principal import SYSTEM
    from xietong.people.protection import PersonalDataProtector
    from xietong.screening import service
    from xietong.storage.engine import build_engine, session_factory
    from xietong.storage.unit_of_work import unit_of_work

    engine = build_engine(url)
    protector = PersonalDataProtector.from_settings(Settings(database_url=url))
    with (
        unit_of_work(session_factory(engine), clock=SystemClock()) as session,
        path.open(encoding="utf-8", newline="") as stream,
    ):
        service.register_tubes_file(
            session,
            principal=SYSTEM,
            stream=stream,
            source_name="bench",
            tz=TZ,
            now=NOW,
            protector=protector,
            expected_rows=os.path.getsize(path) // 60,
        )
    engine.dispose()


def csv_path(url: str, path: Path) -> dict[str, Any]:
    from xietong.core.principal import SYSTEM
    from xietong.flows import intake
    from xietong.storage.engine import build_engine, session_factory
    from xietong.storage.unit_of_work import unit_of_work

    engine = build_engine(url)
    started = time.perf_counter()
    with (
        unit_of_work(session_factory(engine), clock=SystemClock()) as session,
        path.open(encoding="utf-8", newline="") as stream,
    ):
        report = intake.ingest_lab_results(
            session, principal=SYSTEM, stream=stream, source_name="bench", tz=TZ, now=NOW
        )
    seconds = time.perf_counter() - started
    engine.dispose()
    return {"seconds": seconds, "report": report.results.model_dump()}


def hl7_path(url: str, path: Path, acks: Path, batch: int) -> dict[str, Any]:
    from xietong.core.principal import SYSTEM
    from xietong.interop import hl7v2, service
    from xietong.storage.engine import build_engine, session_factory
    from xietong.storage.unit_of_work import unit_of_work

    engine = build_engine(url)
    factory = session_factory(engine)
    totals: dict[str, int] = {}
    codes = {"AA": 0, "AE": 0, "AR": 0}
    started = time.perf_counter()
    with (
        path.open(encoding="utf-8", newline="") as stream,
        acks.open("w", encoding="utf-8", newline="") as out,
    ):
        for messages in hl7v2.chunked(hl7v2.iter_messages(stream), batch):
            with unit_of_work(factory, clock=SystemClock()) as session:
                answer = service.receive_hl7(
                    session, principal=SYSTEM, messages=messages, source="bench", tz=TZ, now=NOW
                )
            # Acknowledged once committed, as the MLLP listener does.
            out.writelines(answer.acks)
            codes["AA"] += answer.accepted
            codes["AE"] += answer.errors
            codes["AR"] += answer.rejected
            if answer.results is not None:
                for key, value in answer.results.model_dump().items():
                    if isinstance(value, int) and key != "batch_id":
                        totals[key] = totals.get(key, 0) + value
    seconds = time.perf_counter() - started
    engine.dispose()
    return {"seconds": seconds, "report": totals, "acks": codes}


def read_only(path: Path) -> float:
    """Seconds to split and read every message, without the database."""
    from xietong.interop import hl7v2

    started = time.perf_counter()
    instants: dict[str, str] = {}
    with path.open(encoding="utf-8", newline="") as stream:
        for message in hl7v2.iter_messages(stream):
            hl7v2.read_message(message, instants=instants)
    return time.perf_counter() - started


def run_backend(url: str, size: int, batch: int, folder: Path) -> dict[str, Any]:
    started = time.perf_counter()
    prepared = prepare(url, {"persons": 2 * size * POOL, "tubes": 2 * size})
    paths = write_files(folder, size, prepared["first_person"], prepared["sites"])
    register_tubes(url, paths["tubes.csv"])
    figures: dict[str, Any] = {"prepare_seconds": time.perf_counter() - started}
    figures["csv"] = csv_path(url, paths["results.csv"])
    figures["hl7"] = hl7_path(url, paths["results.hl7"], folder / "acks.hl7", batch)
    figures["read_seconds"] = read_only(paths["results.hl7"])
    figures["rates"] = {
        "csv": size / figures["csv"]["seconds"],
        "hl7": size / figures["hl7"]["seconds"],
        "hl7_read_only": size / figures["read_seconds"],
    }
    figures["rates"]["hl7_over_csv"] = figures["rates"]["hl7"] / figures["rates"]["csv"]
    return figures


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=1_000_000, help="results on each path")
    parser.add_argument("--batch", type=int, default=50_000, help="messages per transaction")
    parser.add_argument("--postgres-url", default=os.environ.get("XIETONG_TEST_DATABASE_URL"))
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgresql", action="store_true")
    args = parser.parse_args(argv)
    figures: dict[str, Any] = {"size": args.size, "batch": args.batch}
    with tempfile.TemporaryDirectory(prefix="xietong-hl7-") as tmp:
        folder = Path(tmp)
        if not args.skip_postgresql and args.postgres_url:
            url, name = fresh_postgresql(args.postgres_url)
            try:
                figures["postgresql"] = run_backend(url, args.size, args.batch, folder)
            finally:
                drop_postgresql(args.postgres_url, name)
        if not args.skip_sqlite:
            url = f"sqlite:///{folder / 'bench.sqlite'}"
            figures["sqlite"] = run_backend(url, args.size, args.batch, folder)
    for backend in ("postgresql", "sqlite"):
        if backend not in figures:
            continue
        f = figures[backend]
        r = f["rates"]
        print(
            f"{backend}, {args.size:,} results on each path (HL7 in transactions of "
            f"{args.batch:,} messages):\n"
            f"  CSV file:        {r['csv']:,.0f} rows/s ({f['csv']['seconds']:.1f} s)\n"
            f"  HL7 ORU^R01:     {r['hl7']:,.0f} rows/s ({f['hl7']['seconds']:.1f} s, ACKs "
            f"{f['hl7']['acks']})\n"
            f"  HL7 / CSV:       {r['hl7_over_csv']:.2f}\n"
            f"  reading the messages alone: {r['hl7_read_only']:,.0f} messages/s"
        )
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])
