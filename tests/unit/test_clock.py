"""One clock per process: a replaying server's clock reads the replay's evening and runs on at the
wall's pace; domain modules never read the wall, they are given `now` (or the unit of work's
clock, for what they stamp without being about time)."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from xietong.core.clock import FixedClock
from xietong.core.wallclock import RunningClock, SystemClock
from xietong.storage.unit_of_work import bind_clock, clock_of

SRC = Path(__file__).resolve().parents[2] / "src" / "xietong"
# The delivery layers build and read clocks: the application and its routes, pages, the CLI,
# the job runtime of the outbox (which signs webhooks with the receivers' wall time), the twin.
DELIVERY = ("api", "cli", "web", "twin", "core/wallclock.py", "outbox/runtime.py")
DELIVERY_FILES = ("router.py", "sse.py")
WALL_READS = {("datetime", "now"), ("datetime", "utcnow"), ("date", "today"), ("time", "time")}
# The outbox's webhook signature carries the receiver's wall time (RFC-style replay protection).
ALLOWED = {("outbox/dispatcher.py", "time.time")}


def _domain_modules() -> list[Path]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        if "migrations/" in relative or relative.startswith(DELIVERY):
            continue
        if relative.endswith(DELIVERY_FILES):
            continue
        found.append(path)
    return found


def _wall_reads(path: Path, root: Path = SRC) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    relative = path.relative_to(root).as_posix()
    reads = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "xietong.core.wallclock":
            reads.append(f"{relative}:{node.lineno} imports the wall clock")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and (node.func.value.id, node.func.attr) in WALL_READS
            and (relative, f"{node.func.value.id}.{node.func.attr}") not in ALLOWED
        ):
            reads.append(f"{relative}:{node.lineno} calls {node.func.value.id}.{node.func.attr}()")
    return reads


def test_no_domain_module_reads_the_wall_clock() -> None:
    modules = _domain_modules()
    assert len(modules) > 100  # the scan sees the domains, not an empty folder
    reads = [read for path in modules for read in _wall_reads(path)]
    assert reads == []


def test_the_scan_finds_a_wall_read_where_there_is_one(tmp_path: Path) -> None:
    assert _wall_reads(SRC / "zones" / "service.py") == []
    planted = tmp_path / "zones" / "service.py"
    planted.parent.mkdir()
    planted.write_text(
        "from datetime import UTC, date, datetime\n"
        "from xietong.core.wallclock import SystemClock\n"
        "X = datetime.now(UTC)\n"
        "Y = date.today()\n"
    )
    assert _wall_reads(planted, tmp_path) == [
        "zones/service.py:2 imports the wall clock",
        "zones/service.py:3 calls datetime.now()",
        "zones/service.py:4 calls date.today()",
    ]


def test_a_running_clock_reads_its_start_and_moves_on_at_the_walls_pace() -> None:
    evening = datetime(2022, 11, 21, 14, 0, tzinfo=UTC)
    clock = RunningClock(evening)
    first = clock.now()
    wall = SystemClock().now()
    assert evening <= first < evening + timedelta(minutes=1)
    second = clock.now()
    assert second >= first
    # The offset from the wall stays what it was when the clock was built.
    assert abs((wall - first) - (SystemClock().now() - clock.now())) < timedelta(seconds=1)


def test_a_naive_start_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        RunningClock(datetime(2022, 11, 21, 22, 0))  # noqa: DTZ001 - the point


def test_a_session_carries_the_clock_of_its_unit_of_work() -> None:
    session = Session()
    with pytest.raises(RuntimeError, match="no clock"):
        clock_of(session)
    clock = FixedClock(datetime(2022, 11, 21, 22, 0, tzinfo=UTC))
    bind_clock(session, clock)
    assert clock_of(session) is clock
    assert clock_of(session).now() == datetime(2022, 11, 21, 22, 0, tzinfo=UTC)
