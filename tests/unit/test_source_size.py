"""Every source module of src/ (migrations aside) stays small enough to read in one sitting."""

from __future__ import annotations

from pathlib import Path

SOURCE = Path(__file__).resolve().parents[2] / "src" / "xietong"
MAX_LINES = 600


def test_no_module_outside_the_migrations_is_over_600_lines() -> None:
    too_long = {
        str(path.relative_to(SOURCE)): lines
        for path in SOURCE.rglob("*.py")
        if "migrations" not in path.parts
        and (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert too_long == {}
