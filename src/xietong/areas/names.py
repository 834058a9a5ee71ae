"""Every name a reporting unit goes by in published figures: code, full name in either script,
the short name health commissions print (秀山县 for 秀山土家族苗族自治县), pinyin with or without
tone marks and spaces, and the English name. Pure: no database."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Protocol

# Autonomous counties are printed by their place name and 县 alone: strip the peoples named
# before 自治县 (秀山土家族苗族自治县 → 秀山县; 石柱土家族自治縣 → 石柱縣).
_PEOPLES: Final = (
    "土家",
    "苗",
    "彝",
    "藏",
    "羌",
    "回",
    "蒙古",
    "壮",
    "壯",
    "侗",
    "瑶",
    "布依",
    "白",
    "哈尼",
    "傣",
    "傈僳",
    "佤",
    "拉祜",
    "纳西",
    "納西",
    "景颇",
    "景頗",
    "水",
    "仡佬",
    "黎",
    "畲",
    "满",
    "滿",
    "朝鲜",
    "朝鮮",
    "哈萨克",
    "哈薩克",
    "达斡尔",
    "達斡爾",
    "鄂温克",
    "鄂溫克",
    "鄂伦春",
    "鄂倫春",
    "锡伯",
    "錫伯",
    "裕固",
    "撒拉",
    "东乡",
    "東鄉",
    "保安",
    "土",
    "塔吉克",
    "毛南",
    "仫佬",
    "各",
)
_AUTONOMOUS = re.compile(
    r"^(?P<place>.+?)(?:(?:"
    + "|".join(sorted(_PEOPLES, key=len, reverse=True))
    + r")族)+自治(?P<county>[县縣])$"
)
# Functional zones printed without the city's name (重庆高新区 → 高新区).
_CITY_PREFIXES: Final = ("重庆", "重慶")
_SUFFIXES: Final = ("区", "區", "县", "縣")
_CJK_START: Final = 0x2E80


class NamedUnit(Protocol):
    """What is needed of a unit to name it (a District row or a reference district)."""

    @property
    def code(self) -> str: ...
    @property
    def name_hans(self) -> str: ...
    @property
    def name_hant(self) -> str: ...
    @property
    def pinyin(self) -> str: ...
    @property
    def english(self) -> str: ...


def short_name(full_name: str) -> str:
    """The short name a bulletin prints: 秀山土家族苗族自治县 → 秀山县; other names unchanged."""
    match = _AUTONOMOUS.match(full_name.strip())
    if match is None:
        return full_name.strip()
    return match.group("place") + match.group("county")


def plain_pinyin(pinyin: str) -> str:
    """Pinyin folded for matching: no tone marks, spaces, apostrophes or case."""
    decomposed = unicodedata.normalize("NFKD", pinyin)
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[\s'’\-]", "", letters).casefold()


def name_keys(unit: NamedUnit) -> set[str]:
    """Every folded key that names `unit` (see `fold`)."""
    keys = {unit.code, unit.name_hans, unit.name_hant, unit.english}
    for name in (unit.name_hans, unit.name_hant):
        short = short_name(name)
        keys.add(short)
        for prefix in _CITY_PREFIXES:
            if short.startswith(prefix) and len(short) > len(prefix) + 1:
                keys.add(short.removeprefix(prefix))
        if short.endswith(_SUFFIXES) and len(short) > 2:
            keys.add(short[:-1])  # 沙坪坝 for 沙坪坝区, as tables often print it
    pinyin = plain_pinyin(unit.pinyin)
    keys.add(pinyin)
    for suffix in ("qu", "xian", "zizhixian"):
        if pinyin.endswith(suffix) and len(pinyin) > len(suffix) + 2:
            keys.add(pinyin.removesuffix(suffix))
    place = plain_pinyin(unit.pinyin.split()[0]) if unit.pinyin.split() else ""
    if place and unit.pinyin.strip().endswith(("Zìzhìxiàn", "Zizhixian")):
        keys.add(place)
        keys.add(place + "xian")
    return {fold(key) for key in keys if key.strip()}


def fold(name: str) -> str:
    """A name as matched: Latin names without tone marks, spaces, apostrophes or case; Chinese
    names trimmed."""
    text = name.strip()
    if any(ord(c) >= _CJK_START for c in text):
        return text
    return plain_pinyin(text)


@dataclass(frozen=True)
class NameLookup:
    """Folded name → unit code; names shared by two units are kept apart as ambiguous."""

    codes: dict[str, str]
    ambiguous: dict[str, tuple[str, ...]]

    def find(self, name: str) -> str | None:
        return self.codes.get(fold(name))

    def is_ambiguous(self, name: str) -> tuple[str, ...]:
        return self.ambiguous.get(fold(name), ())


def name_lookup(units: Iterable[NamedUnit]) -> NameLookup:
    """The lookup of every name of `units`; a name two units share names neither."""
    owners: dict[str, set[str]] = {}
    for unit in units:
        for key in name_keys(unit):
            owners.setdefault(key, set()).add(unit.code)
    return NameLookup(
        codes={key: next(iter(codes)) for key, codes in owners.items() if len(codes) == 1},
        ambiguous={key: tuple(sorted(codes)) for key, codes in owners.items() if len(codes) > 1},
    )
