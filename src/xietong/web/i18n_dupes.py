"""The words of the review of possible duplicate persons, in simplified Chinese and English;
`web.i18n` merges them into its one table."""

from __future__ import annotations

from typing import Final

# key: (简体中文, English)
DUPES_STRINGS: Final[dict[str, tuple[str, str]]] = {
    "nav.duplicates": ("重复人员", "Duplicates"),
    "dupes.title": ("疑似重复人员", "Possible duplicate persons"),
    "dupes.intro": (
        "同一身份证号不能重复登记；此处列出姓名或电话与出生日期相同的记录，请逐对核实：合并或确认不是同一人。",
        "One ID number cannot be registered twice; these records share a name or a phone and a "
        "birth date. Decide each pair: merge it, or confirm they are not the same person.",
    ),
    "dupes.find": ("查找新的疑似重复", "Find new possible duplicates"),
    "dupes.pair": ("第 {id} 对", "Pair {id}"),
    "dupes.reason": ("依据", "Why"),
    "dupes.reason.name_birth": ("姓名与出生日期相同", "same name and birth date"),
    "dupes.reason.phone_birth": ("电话与出生日期相同", "same phone and birth date"),
    "dupes.reason.name_birth+phone_birth": (
        "姓名、电话与出生日期均相同",
        "same name, phone and birth date",
    ),
    "dupes.person": ("人员", "Person"),
    "dupes.name": ("姓名", "Name"),
    "dupes.phone": ("电话", "Phone"),
    "dupes.id": ("身份证号", "ID number"),
    "dupes.born": ("出生日期", "Born"),
    "dupes.home": ("居住区县", "Home district"),
    "dupes.keep": ("合并，保留 #{id}", "Merge, keep #{id}"),
    "dupes.dismiss": ("不是同一人", "Not the same person"),
    "dupes.note": ("说明", "Note"),
    "dupes.decided": ("{by} 于 {at} 处理", "decided by {by} at {at}"),
    "dupes.survivor": ("保留 #{id}", "kept #{id}"),
    "dupes.status.open": ("待核实", "open"),
    "dupes.status.merged": ("已合并", "merged"),
    "dupes.status.dismissed": ("非同一人", "not the same person"),
    "dupes.status.superseded": ("已由其他合并替代", "superseded by another merge"),
}
