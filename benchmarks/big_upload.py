"""A laboratory results file of many megabytes posted to a real server process, and the server's
peak memory while it answers: a file past the upload limit is refused (413) before it is read,
and a file of bad rows is answered with the first 1,000 problems and their count.

Usage: .venv/bin/python -m benchmarks.big_upload --mb 1024 [--bad-mb 200]

`--mb` is the size of the file of valid rows (well-formed results for registered tubes);
`--bad-mb` that of the file whose every row is bad (default: the smaller of `--mb` and 200).
The server is `xietong serve` on 127.0.0.1 over a fresh SQLite database, with the default limits
(`XIETONG_MAX_UPLOAD_BYTES`, 256 MiB). Peak memory is the server process's resident high-water
mark (VmHWM), reset before each upload. The client streams the file from disk with
`Expect: 100-continue`, as curl does, so a refused file is not sent at all.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

MB = 2**20
TUBES = 50
DISTRICT = "500106"
COLLECTED_AT = datetime(2022, 11, 15, 0, 0, tzinfo=UTC)
HEADER = b"tube_code,result,ct_value,lab,reported_at\n"
CHUNK = 4 * MB


def write_results(path: Path, *, mb: float, tube_codes: list[str] | None) -> int:
    """A results file of about `mb` MiB: rows for `tube_codes` (in turn, each the same negative
    result), or, without them, rows that are all bad (an unknown result word). Its row count."""
    target = int(mb * MB)
    rows = 0
    with path.open("wb") as handle:
        handle.write(HEADER)
        written = len(HEADER)
        while written < target:
            block = []
            for _ in range(10_000):
                if tube_codes:
                    code, outcome = tube_codes[rows % len(tube_codes)], "阴性"
                else:
                    code, outcome = f"X{rows:09d}", "不知道"
                block.append(f"{code},{outcome},,LAB-01,2022-11-15T11:00:00+08:00\n")
                rows += 1
            data = "".join(block).encode("utf-8")
            handle.write(data)
            written += len(data)
    return rows


def _prepare(url: str) -> tuple[str, list[str]]:
    """Areas, a laboratory user and `TUBES` registered tubes; the user's token and the codes."""
    import io

    from xietong.areas import service as areas_service
    from xietong.auth import service as auth_service
    from xietong.auth.schemas import UserCreate
    from xietong.bootstrap import prepare_database
    from xietong.config import Settings
    from xietong.core.principal import SYSTEM, Role
    from xietong.core.wallclock import SystemClock
    from xietong.people import service as people_service
    from xietong.people.protection import PersonalDataProtector
    from xietong.people.synthetic import synthetic_national_id
    from xietong.screening import service as screening_service
    from xietong.screening.schemas import SiteCreate, TubeBatch, TubeIn
    from xietong.storage.engine import build_engine, session_factory
    from xietong.storage.unit_of_work import unit_of_work

    settings = Settings(database_url=url, run_workers=False)
    protector = PersonalDataProtector.from_settings(settings)
    engine = build_engine(url)
    prepare_database(engine)
    now = datetime.now(UTC)
    with unit_of_work(session_factory(engine), clock=SystemClock()) as session:
        areas_service.generate_synthetic_areas(
            session, buildings_per_district={DISTRICT: 3}, seed=1, buildings_per_community=3
        )
        building = next(iter(areas_service.iter_building_codes(session)))
        numbers = [synthetic_national_id(serial=n, birth=date(1980, 1, 1)) for n in range(TUBES)]
        people_service.import_persons(
            session,
            principal=SYSTEM,
            protector=protector,
            stream=io.StringIO(
                "national_id,name,residence_building\n"
                + "".join(f"{n},居民{i},{building}\n" for i, n in enumerate(numbers))
            ),
        )
        site = screening_service.create_site(
            session,
            principal=SYSTEM,
            site_in=SiteCreate(code="S-BIG", name="采样点", district_code=DISTRICT),
            now=now,
        )
        codes = [f"T{n:08d}" for n in range(TUBES)]
        screening_service.register_tubes(
            session,
            principal=SYSTEM,
            batch=TubeBatch(
                tubes=[
                    TubeIn(
                        tube_code=code,
                        site_code=site.code,
                        collected_at=COLLECTED_AT,
                        pool_size=1,
                        national_ids=[number],
                    )
                    for code, number in zip(codes, numbers, strict=True)
                ]
            ),
            tz=settings.timezone,
            now=now,
            protector=protector,
        )
        user = auth_service.create_user(
            session,
            user_in=UserCreate(username="lab-big-upload", role=Role.lab),
            district_id=None,
            now=now,
        )
        token = auth_service.issue_token(session, user=user)
    engine.dispose()
    return token, codes


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_server(url: str) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    env = {**os.environ, "XIETONG_DATABASE_URL": url, "XIETONG_RUN_WORKERS": "false"}
    process = subprocess.Popen(
        [sys.executable, "-m", "xietong", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # Poll the real process until it answers (it migrates first); give up if it exits.
    while process.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process, port
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the server exited with {process.returncode}")


def _memory(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) * 1024
    return fields


def _reset_peak(pid: int) -> None:
    # Writing 5 to clear_refs resets the resident high-water mark (Linux 4.0+).
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def _multipart(path: Path, boundary: str) -> tuple[bytes, bytes]:
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="{path.name}"\r\nContent-Type: text/csv\r\n\r\n'
    ).encode()
    return head, f"\r\n--{boundary}--\r\n".encode()


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def _read_response(sock: socket.socket, buffer: bytes) -> tuple[int, dict[str, str], bytes]:
    while b"\r\n\r\n" not in buffer:
        more = sock.recv(65536)
        if not more:
            break
        buffer += more
    head, _, body = buffer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
    length = int(headers.get("content-length", "-1"))
    while length < 0 or len(body) < length:
        more = sock.recv(65536)
        if not more:
            break
        body += more
    return status, headers, body


def post_file(port: int, token: str, path: Path) -> tuple[int, bytes]:
    """POST `path` as a multipart upload, streamed, waiting for `100 Continue` before the body."""
    boundary = "xietong-big-upload"
    head, tail = _multipart(path, boundary)
    length = len(head) + path.stat().st_size + len(tail)
    request = (
        "POST /api/screening/results/import HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {length}\r\n"
        "Expect: 100-continue\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(request)
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            buffer += sock.recv(65536)
        if buffer.startswith(b"HTTP/1.1 100"):
            buffer = buffer.partition(b"\r\n\r\n")[2]
            sock.sendall(head)
            for chunk in _file_chunks(path):
                sock.sendall(chunk)
            sock.sendall(tail)
        status, _, body = _read_response(sock, buffer)
    return status, body


def measure(port: int, pid: int, token: str, path: Path) -> dict[str, Any]:
    _reset_peak(pid)
    before = _memory(pid)["VmRSS"]
    started = time.perf_counter()
    status, body = post_file(port, token, path)
    seconds = time.perf_counter() - started
    after = _memory(pid)
    answer = json.loads(body) if body.startswith(b"{") else {}
    error = answer.get("error", {})
    return {
        "file_mib": round(path.stat().st_size / MB, 1),
        "status": status,
        "seconds": round(seconds, 1),
        "rss_before_mib": round(before / MB, 1),
        "peak_rss_mib": round(after["VmHWM"] / MB, 1),
        "answer_bytes": len(body),
        "errors_listed": len(error.get("details") or []),
        "message": (error.get("message") or "")[:160],
        "results": answer.get("results"),
    }


def main(argv: list[str] | None = None) -> dict[str, dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=1024, help="size of the valid file in MiB")
    parser.add_argument("--bad-mb", type=float, default=None, help="size of the bad file in MiB")
    args = parser.parse_args(argv)
    bad_mb = args.bad_mb if args.bad_mb is not None else min(args.mb, 200)
    figures: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        url = f"sqlite:///{folder / 'upload.sqlite'}"
        token, codes = _prepare(url)
        valid, bad = folder / "results.csv", folder / "bad-results.csv"
        rows = {"valid": write_results(valid, mb=args.mb, tube_codes=codes)}
        rows["bad"] = write_results(bad, mb=bad_mb, tube_codes=None)
        process, port = _start_server(url)
        try:
            for name, path in (("valid", valid), ("bad", bad)):
                figures[name] = {"rows": rows[name], **measure(port, process.pid, token, path)}
                path.unlink()
        finally:
            process.terminate()
            process.wait()
    for name, result in figures.items():
        print(
            f"{name} rows: {result['file_mib']} MiB ({result['rows']:,} rows) -> "
            f"{result['status']} in {result['seconds']} s; server RSS {result['rss_before_mib']} "
            f"MiB before, peak {result['peak_rss_mib']} MiB; answer {result['answer_bytes']:,} "
            f"bytes, {result['errors_listed']} errors listed. {result['message']}"
        )
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])
