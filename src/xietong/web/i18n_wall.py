"""The words of the wall display (the overview's strip, map layers, refresh and shift summary),
in simplified Chinese and English; `web.i18n` merges them into its one table."""

from __future__ import annotations

from typing import Final

# key: (简体中文, English)
WALL_STRINGS: Final[dict[str, tuple[str, str]]] = {
    "referrals.district_overview": ("{district}态势", "{district} overview"),
}
