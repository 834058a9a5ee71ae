"""Results kept under a key: read again without being made again, the least recently read
dropped first, and a result that raised never kept."""

from __future__ import annotations

import pytest

from xietong.core.kept import Kept


def test_a_kept_result_is_read_again_and_the_least_recently_read_goes_first() -> None:
    kept: Kept[str] = Kept(size=2)
    made: list[str] = []

    def make(key: str) -> str:
        made.append(key)
        return key.upper()

    assert kept.get_or_make("a", lambda: make("a")) == "A"
    assert kept.get_or_make("b", lambda: make("b")) == "B"
    assert kept.get_or_make("a", lambda: make("a")) == "A"  # read again, now the most recent
    kept.get_or_make("c", lambda: make("c"))  # drops b, the least recently read
    kept.get_or_make("a", lambda: make("a"))
    kept.get_or_make("b", lambda: make("b"))
    assert made == ["a", "b", "c", "b"]
    kept.clear()
    kept.get_or_make("a", lambda: make("a"))
    assert made[-1] == "a"


def test_a_result_that_raised_is_not_kept() -> None:
    kept: Kept[int] = Kept(size=1)

    def fail() -> int:
        raise LookupError("no counts")

    with pytest.raises(LookupError):
        kept.get_or_make("k", fail)
    assert kept.get_or_make("k", lambda: 7) == 7


def test_a_size_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="size"):
        Kept(size=0)
