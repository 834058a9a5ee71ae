"""The words of the wall display (the overview's strip, map layers, refresh and shift summary),
in simplified Chinese and English; `web.i18n` merges them into its one table."""

from __future__ import annotations

from typing import Final

# key: (简体中文, English)
WALL_STRINGS: Final[dict[str, tuple[str, str]]] = {
    "referrals.district_overview": ("{district}态势", "{district} overview"),
    "overview.last_refreshed": ("刷新于 {at}（服务器时间）", "Refreshed {at} (server time)"),
    "overview.shift": ("本班以来（{at} 起）", "This shift (since {at})"),
    "overview.shift_new_cases": ("新增病例", "New cases"),
    "overview.shift_answered": ("协查已反馈", "Referrals answered"),
    "overview.shift_locked": ("封控区域", "Areas locked"),
    "overview.shift_lifted": ("解封区域", "Areas lifted"),
}
