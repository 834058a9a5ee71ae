"""The names a reporting unit goes by in published tables."""

from __future__ import annotations

import pytest

from xietong.areas.names import name_lookup, plain_pinyin, short_name
from xietong.areas.reference import chongqing


@pytest.mark.parametrize(
    ("full", "short"),
    [
        ("秀山土家族苗族自治县", "秀山县"),
        ("酉陽土家族苗族自治縣", "酉陽縣"),
        ("彭水苗族土家族自治县", "彭水县"),
        ("石柱土家族自治县", "石柱县"),
        ("沙坪坝区", "沙坪坝区"),
        ("忠县", "忠县"),
    ],
)
def test_an_autonomous_county_is_printed_by_its_place_name(full: str, short: str) -> None:
    assert short_name(full) == short


def test_pinyin_matches_with_or_without_tones_spaces_and_case() -> None:
    assert plain_pinyin("Xiùshān Tǔjiāzú Miáozú Zìzhìxiàn") == "xiushantujiazumiaozuzizhixian"
    assert plain_pinyin("Nán'àn Qū") == "nananqu"


def test_every_unit_of_the_city_has_its_names_and_no_name_names_two() -> None:
    lookup = name_lookup(chongqing().districts)

    assert lookup.ambiguous == {}
    for unit in chongqing().districts:
        for name in (unit.code, unit.name_hans, unit.name_hant, unit.pinyin, unit.english):
            assert lookup.find(name) == unit.code
        assert lookup.find(short_name(unit.name_hans)) == unit.code
    assert lookup.find("xiushan") == lookup.find("Xiushan Xian") == "500241"
