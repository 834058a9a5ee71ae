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
    "map.layer_locked_high": ("封控中的高风险区", "High-risk areas locked"),
    "map.layer_proposed": ("待审批的风险区", "Areas awaiting approval"),
    "map.layer_lifting": ("待决定的解封", "Liftings awaiting a decision"),
    "map.zones_hint": ("点击区县只列出其风险区。", "Click a district to list only its risk areas."),
    "map.board_hint": (
        "点击区县只列出与其有关的超时协查；主城九区在左上角放大显示。",
        "Click a district to list only its overdue referrals; the central nine are enlarged top"
        " left.",
    ),
    "map.aid": ("缺口与支援", "Shortfalls and aid"),
    "map.aid_plan": ("调配方案 #{id}（{status}）", "Plan #{id} ({status})"),
    "map.layer_short": ("缺口", "Short"),
    "map.layer_lent": ("支援他区", "Lent to others"),
    "map.flows": ("支援箭头（支援方→受援方）", "Aid arrows (lender → receiver)"),
    "map.no_flows": ("该日没有调配方案的支援。", "The plan moves nothing on that day."),
    "map.flow_from": ("支援方", "Lends"),
    "map.flow_to": ("受援方", "Receives"),
    "map.flow_amount": ("数量", "Amount"),
    "map.aid_hint": ("点击区县查看其能力与需求。", "Click a district for its capacity and demand."),
    "overview.last_refreshed": ("刷新于 {at}（服务器时间）", "Refreshed {at} (server time)"),
    "overview.shift": ("本班以来（{at} 起）", "This shift (since {at})"),
    "overview.shift_new_cases": ("新增病例", "New cases"),
    "overview.shift_answered": ("协查已反馈", "Referrals answered"),
    "overview.shift_locked": ("封控区域", "Areas locked"),
    "overview.shift_lifted": ("解封区域", "Areas lifted"),
}
