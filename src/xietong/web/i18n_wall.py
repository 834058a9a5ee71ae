"""The words of the wall display (the overview's strip, map layers, refresh and shift summary),
in simplified Chinese and English; `web.i18n` merges them into its one table."""

from __future__ import annotations

from typing import Final

# key: (简体中文, English)
WALL_STRINGS: Final[dict[str, tuple[str, str]]] = {
    "referrals.district_overview": ("{district}态势", "{district} overview"),
    "wall.map": ("区县态势图", "Districts at a glance"),
    "wall.layers": ("图层", "Layer"),
    "wall.layer_surface": ("新增社会面（{day}）", "New on the surface ({day})"),
    "wall.layer_zones": ("封控区域（{day}）", "Areas locked ({day})"),
    "wall.layer_overdue": ("超时协查（当前）", "Overdue referrals (now)"),
    "wall.inset": ("主城九区", "Central nine districts"),
    "wall.legend": ("图例", "Legend"),
    "wall.map_hint": (
        "点击区县查看其风险区；主城九区在左上角放大显示。",
        "Click a district to open its risk areas; the central nine are enlarged top left.",
    ),
    "overview.last_refreshed": ("刷新于 {at}（服务器时间）", "Refreshed {at} (server time)"),
    "overview.shift": ("本班以来（{at} 起）", "This shift (since {at})"),
    "overview.shift_new_cases": ("新增病例", "New cases"),
    "overview.shift_answered": ("协查已反馈", "Referrals answered"),
    "overview.shift_locked": ("封控区域", "Areas locked"),
    "overview.shift_lifted": ("解封区域", "Areas lifted"),
}
