"""Count the blocks of six or more identical lines that stand in two places in src/ (migrations
aside), the figure the house keeps at 15 or fewer. Run from the repository root:

    .venv/bin/python scripts/repeated_blocks.py [--min-lines 6] [--list]

Lines are compared after folding white space; blank lines, comments, lone punctuation and import
lines are passed over, as a reader would skip them. A block is one maximal run shared by two places;
a run shared by three places counts as three pairs.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

SOURCE_SUFFIXES = (".py", ".html", ".js", ".css")
LONE_PUNCTUATION = re.compile(r"^[\s()\[\]{},:;]*$")
IMPORT_LINE = re.compile(r"^(from\s+\S+\s+import\b|import\s)")


@dataclass(frozen=True)
class RepeatedBlock:
    """One run of identical lines standing at two places (file, first line, last line)."""

    first: tuple[str, int, int]
    second: tuple[str, int, int]
    lines: int


def significant_lines(text: str) -> list[tuple[int, str]]:
    """Return (line number, folded text) for the lines that count, in order."""
    kept: list[tuple[int, str]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = " ".join(raw.split())
        if not line or line.startswith(("#", "<!--", "//")):
            continue
        if LONE_PUNCTUATION.match(line) or IMPORT_LINE.match(line):
            continue
        kept.append((number, line))
    return kept


def source_files(root: Path) -> list[Path]:
    """Every source file under root, migrations left out."""
    return sorted(
        path
        for path in root.rglob("*")
        if path.suffix in SOURCE_SUFFIXES
        and path.is_file()
        and "migrations" not in path.parts
        and "__pycache__" not in path.parts
    )


def repeated_blocks(root: Path, *, min_lines: int = 6) -> list[RepeatedBlock]:
    """Find every maximal run of at least min_lines identical lines standing at two places."""
    files: list[tuple[str, list[tuple[int, str]]]] = [
        (str(path.relative_to(root)), significant_lines(path.read_text(encoding="utf-8")))
        for path in source_files(root)
    ]
    places: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for file_index, (_, lines) in enumerate(files):
        for start in range(len(lines) - min_lines + 1):
            window = "\n".join(text for _, text in lines[start : start + min_lines])
            places[hashlib.sha1(window.encode(), usedforsecurity=False).hexdigest()].append(
                (file_index, start)
            )
    # Each shared window is one step along a diagonal (file a, file b, offset); consecutive steps
    # on the same diagonal are one block.
    diagonals: dict[tuple[int, int, int], set[int]] = defaultdict(set)
    for spots in places.values():
        for i, (file_a, start_a) in enumerate(spots):
            for file_b, start_b in spots[i + 1 :]:
                diagonals[(file_a, file_b, start_b - start_a)].add(start_a)
    blocks: list[RepeatedBlock] = []
    for (file_a, file_b, offset), starts in diagonals.items():
        ordered = sorted(starts)
        run_start = previous = ordered[0]
        for start in [*ordered[1:], None]:
            if start is not None and start == previous + 1:
                previous = start
                continue
            # A run overlapping itself (offset shorter than the run) is one place, not two.
            if not (file_a == file_b and offset < min_lines):
                blocks.append(_block(files, file_a, file_b, run_start, previous, offset, min_lines))
            if start is not None:
                run_start = previous = start
    return sorted(blocks, key=lambda block: (-block.lines, block.first))


def _block(
    files: list[tuple[str, list[tuple[int, str]]]],
    file_a: int,
    file_b: int,
    first_start: int,
    last_start: int,
    offset: int,
    min_lines: int,
) -> RepeatedBlock:
    name_a, lines_a = files[file_a]
    name_b, lines_b = files[file_b]
    last = last_start + min_lines - 1
    return RepeatedBlock(
        first=(name_a, lines_a[first_start][0], lines_a[last][0]),
        second=(name_b, lines_b[first_start + offset][0], lines_b[last + offset][0]),
        lines=last - first_start + 1,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("src"), help="tree to read")
    parser.add_argument("--min-lines", type=int, default=6, help="lines a block needs")
    parser.add_argument("--list", action="store_true", help="print each block")
    args = parser.parse_args()
    blocks = repeated_blocks(args.root, min_lines=args.min_lines)
    if args.list:
        for block in blocks:
            (a, a1, a2), (b, b1, b2) = block.first, block.second
            print(f"{block.lines:4d}  {a}:{a1}-{a2} ~ {b}:{b1}-{b2}")
    pairs = {(block.first[0], block.second[0]) for block in blocks}
    print(
        f"{len(blocks)} blocks of {args.min_lines} or more identical lines repeated in "
        f"{args.root} ({len(pairs)} pairs of files)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
