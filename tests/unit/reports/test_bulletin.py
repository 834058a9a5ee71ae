"""The daily bulletin's text: official form, grouping by count, collation, languages, validation."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xietong.reports.bulletin import (
    BulletinInput,
    DistrictCounts,
    ExtraLine,
    Language,
    collation_key,
    count_groups,
    render_bulletin,
    summarise,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
START_14_NOV = datetime(2022, 11, 14, 0, tzinfo=SHANGHAI)
END_14_NOV_18H = datetime(2022, 11, 14, 18, tzinfo=SHANGHAI)
END_14_NOV = datetime(2022, 11, 15, 0, tzinfo=SHANGHAI)

# Reference scenario, 14 November 2022 0–18h, new local confirmed cases per reporting unit.
# Figures: Chongqing municipal government press conference no. 139 (14 Nov 2022), as reported by
# People's Daily Online, Chongqing channel, 15 Nov 2022 (shared/reference/source-article.md) and
# copied into DESIGN.md "Reference scenario". Code, names, pinyin and English name: shared/
# reference/chongqing-districts.csv. 万盛经开区 has no GB/T 2260 code; "CQ-WS" stands in for it.
# (code, name_hans, name_hant, pinyin, english, new confirmed)
REFERENCE_14_NOV_0_18H: tuple[tuple[str, str, str, str, str, int], ...] = (
    ("500106", "沙坪坝区", "沙坪壩區", "Shāpíngbà Qū", "Shapingba District", 27),
    ("500231", "垫江县", "墊江縣", "Diànjiāng Xiàn", "Dianjiang County", 18),
    ("500113", "巴南区", "巴南區", "Bānán Qū", "Banan District", 9),
    ("500104", "大渡口区", "大渡口區", "Dàdùkǒu Qū", "Dadukou District", 7),
    ("500107", "九龙坡区", "九龍坡區", "Jiǔlóngpō Qū", "Jiulongpo District", 6),
    ("500241", "秀山土家族苗族自治县", "秀山土家族苗族自治縣", "Xiùshān Tǔjiāzú Miáozú Zìzhìxiàn",
     "Xiushan Tujia and Miao Autonomous County", 4),
    ("500118", "永川区", "永川區", "Yǒngchuān Qū", "Yongchuan District", 4),
    ("500154", "开州区", "開州區", "Kāizhōu Qū", "Kaizhou District", 3),
    ("500102", "涪陵区", "涪陵區", "Fúlíng Qū", "Fuling District", 2),
    ("500105", "江北区", "江北區", "Jiāngběi Qū", "Jiangbei District", 2),
    ("500116", "江津区", "江津區", "Jiāngjīn Qū", "Jiangjin District", 2),
    ("500101", "万州区", "萬州區", "Wànzhōu Qū", "Wanzhou District", 2),
    ("500109", "北碚区", "北碚區", "Běibèi Qū", "Beibei District", 1),
    ("500155", "梁平区", "梁平區", "Liángpíng Qū", "Liangping District", 1),
    ("500108", "南岸区", "南岸區", "Nán'àn Qū", "Nan'an District", 1),
    ("500114", "黔江区", "黔江區", "Qiánjiāng Qū", "Qianjiang District", 1),
    ("500153", "荣昌区", "榮昌區", "Róngchāng Qū", "Rongchang District", 1),
    ("500151", "铜梁区", "銅梁區", "Tóngliáng Qū", "Tongliang District", 1),
    ("500152", "潼南区", "潼南區", "Tóngnán Qū", "Tongnan District", 1),
    ("CQ-WS", "万盛经开区", "萬盛經開區", "Wànshèng Jīngkāiqū",
     "Wansheng Economic and Technological Development Zone", 1),
    ("500103", "渝中区", "渝中區", "Yúzhōng Qū", "Yuzhong District", 1),
    ("500115", "长寿区", "長壽區", "Chángshòu Qū", "Changshou District", 1),
    ("500242", "酉阳土家族苗族自治县", "酉陽土家族苗族自治縣", "Yǒuyáng Tǔjiāzú Miáozú Zìzhìxiàn",
     "Youyang Tujia and Miao Autonomous County", 1),
)  # fmt: skip
REFERENCE_TOTAL = 97

# The published breakdown, verbatim (traditional characters and ASCII commas as reprinted in
# source-article.md). It names the two autonomous counties by their short forms.
PUBLISHED_14_NOV_0_18H = (
    "沙坪壩區27例,墊江縣18例,巴南區9例,大渡口區7例,九龍坡區6例,秀山縣4例,永川區4例,開州區3例,"
    "涪陵區、江北區、江津區、萬州區各2例,北碚區、梁平區、南岸區、黔江區、榮昌區、銅梁區、潼南區、"
    "萬盛經開區、渝中區、長壽區、酉陽縣各1例"
)
PUBLISHED_SHORT_NAMES = {"秀山縣": "500241", "酉陽縣": "500242"}


def reference_rows() -> tuple[DistrictCounts, ...]:
    return tuple(
        DistrictCounts(
            code=code,
            name_hans=hans,
            name_hant=hant,
            pinyin=pinyin,
            english=english,
            new_confirmed=confirmed,
        )
        for code, hans, hant, pinyin, english, confirmed in REFERENCE_14_NOV_0_18H
    )


def reference_bulletin(**changes: Any) -> BulletinInput:
    fields: dict[str, Any] = {
        "start": START_14_NOV,
        "end": END_14_NOV_18H,
        "place_hans": "重庆市",
        "place_hant": "重慶市",
        "place_english": "Chongqing",
        "districts": reference_rows(),
    }
    fields.update(changes)
    return BulletinInput(**fields)


def row(code: str = "500106", **counts: Any) -> DistrictCounts:
    """A reference district by code, with the given counts."""
    code_, hans, hant, pinyin, english, _ = next(r for r in REFERENCE_14_NOV_0_18H if r[0] == code)
    return DistrictCounts(
        code=code_, name_hans=hans, name_hant=hant, pinyin=pinyin, english=english, **counts
    )


# -- reading a breakdown back -------------------------------------------------------------------

_CHINESE_ITEM = re.compile(r"^(?P<names>.+?)(?P<each>各)?(?P<count>\d+)例$")


def parse_chinese_breakdown(
    text: str, codes_by_name: dict[str, str]
) -> list[tuple[int, list[str], bool]]:
    """(count, district codes in written order, written with 各) for each item of a breakdown."""
    items = []
    for item in re.split(r"[,，]", text.rstrip("。")):
        match = _CHINESE_ITEM.match(item)
        assert match, item
        codes = [codes_by_name[name] for name in match["names"].split("、")]
        items.append((int(match["count"]), codes, bool(match["each"])))
    return items


def parse_english_breakdown(
    text: str, codes_by_name: dict[str, str]
) -> list[tuple[int, list[str], bool]]:
    # Names may contain " and " ("Xiushan Tujia and Miao Autonomous County"): match known names,
    # longest first, rather than split on the conjunction.
    known = sorted(codes_by_name, key=len, reverse=True)
    items = []
    for item in re.split(r", (?=\d)", text.rstrip(".")):
        match = re.match(r"^(?P<count>\d+)(?P<each> each)? in (?P<names>.+)$", item)
        assert match, item
        rest, codes = match["names"], []
        while rest:
            name = next(n for n in known if rest.startswith(n))
            codes.append(codes_by_name[name])
            rest = rest[len(name) :]
            for separator in (", ", " and "):
                if rest.startswith(separator):
                    rest = rest[len(separator) :]
                    break
        items.append((int(match["count"]), codes, bool(match["each"])))
    return items


def by_count(items: list[tuple[int, list[str], bool]]) -> dict[int, set[str]]:
    groups: dict[int, set[str]] = {}
    for count, codes, _ in items:
        groups.setdefault(count, set()).update(codes)
    return groups


def names(lang: Language) -> dict[str, str]:
    column = {"zh-Hans": 1, "zh-Hant": 2, "en": 4}[lang]
    return {str(r[column]): r[0] for r in REFERENCE_14_NOV_0_18H}


def breakdown_line(text: str, prefix: str) -> str:
    line = next(line for line in text.splitlines() if line.startswith(prefix))
    return line.removeprefix(prefix)


PUBLISHED = parse_chinese_breakdown(
    PUBLISHED_14_NOV_0_18H, names("zh-Hant") | PUBLISHED_SHORT_NAMES
)
REFERENCE_COUNTS = {r[0]: r[5] for r in REFERENCE_14_NOV_0_18H}


# -- the reference scenario ---------------------------------------------------------------------


def test_the_reference_data_is_the_published_list() -> None:
    assert {code: count for count, codes, _ in PUBLISHED for code in codes} == REFERENCE_COUNTS
    assert sum(REFERENCE_COUNTS.values()) == REFERENCE_TOTAL


def test_the_reference_bulletin_reads_in_the_official_form() -> None:
    assert render_bulletin(reference_bulletin()) == (
        "2022年11月14日0—18时，重庆市新增本土确诊病例97例，无新增本土无症状感染者。\n"
        "新增本土确诊病例中，沙坪坝区27例，垫江县18例，巴南区9例，大渡口区7例，九龙坡区6例，"
        "秀山土家族苗族自治县、永川区各4例，开州区3例，涪陵区、江北区、江津区、万州区各2例，"
        "北碚区、长寿区、梁平区、南岸区、黔江区、荣昌区、铜梁区、潼南区、万盛经开区、"
        "酉阳土家族苗族自治县、渝中区各1例。"
    )


@pytest.mark.parametrize(
    ("lang", "headline", "prefix"),
    [
        ("zh-Hans", "2022年11月14日0—18时，重庆市新增本土确诊病例97例，", "新增本土确诊病例中，"),
        ("zh-Hant", "2022年11月14日0—18時，重慶市新增本土確診病例97例，", "新增本土確診病例中，"),
        (
            "en",
            "From 00:00 to 18:00 on 14 November 2022, Chongqing reported 97 new local confirmed"
            " cases",
            "New local confirmed cases: ",
        ),
    ],
)
def test_every_language_carries_the_published_total_figures_and_groups(
    lang: Language, headline: str, prefix: str
) -> None:
    text = render_bulletin(reference_bulletin(), lang=lang)
    assert text.startswith(headline)
    line = breakdown_line(text, prefix)
    parse = parse_english_breakdown if lang == "en" else parse_chinese_breakdown
    items = parse(line, names(lang))

    assert {code: count for count, codes, _ in items for code in codes} == REFERENCE_COUNTS
    assert by_count(items) == by_count(PUBLISHED)
    counts = [count for count, _, _ in items]
    assert counts == sorted(counts, reverse=True)
    assert len(set(counts)) == len(counts), "one item per count: ties are grouped"
    # Every "各N例" group of the published list is a group here, with the same districts.
    published_each = {count: set(codes) for count, codes, each in PUBLISHED if each}
    ours_each = {count: set(codes) for count, codes, each in items if each}
    assert published_each == {2: published_each[2], 1: published_each[1]}
    assert {count: ours_each[count] for count in published_each} == published_each


def test_the_structured_form_groups_the_reference_counts() -> None:
    summary = summarise(reference_bulletin())
    assert summary.new_confirmed == REFERENCE_TOTAL
    assert summary.new_asymptomatic == 0
    assert summary.asymptomatic_groups == ()
    assert [g.count for g in summary.confirmed_groups] == [27, 18, 9, 7, 6, 4, 3, 2, 1]
    assert {g.count: set(g.district_codes) for g in summary.confirmed_groups} == by_count(PUBLISHED)
    assert summary.confirmed_groups[5].district_codes == ("500241", "500118")  # Xiushan, Yongchuan
    assert summary.confirmed_groups[7].district_codes == ("500102", "500105", "500116", "500101")


def test_the_published_order_inside_groups_follows_no_single_collation() -> None:
    # Ours is toneless pinyin then code. The published groups of 4 and 2 agree with it; the
    # group of 1 puts 长寿 (Chángshòu) after 渝中 and 酉阳 last, which pinyin order does not.
    groups = {g.count: g.district_codes for g in summarise(reference_bulletin()).confirmed_groups}
    published = {count: codes for count, codes, _ in PUBLISHED if len(codes) > 1}
    assert groups[2] == tuple(published[2])
    assert groups[1] != tuple(published[1])
    assert set(groups[1]) == set(published[1])
    assert groups[1][:2] == ("500109", "500115")  # 北碚 Běibèi, 长寿 Chángshòu


# -- collation ---------------------------------------------------------------------------------


def test_collation_drops_tone_marks_case_spaces_and_apostrophes() -> None:
    assert collation_key(pinyin="Nán'àn Qū", code="500108") == ("nananqu", "500108")
    assert collation_key(pinyin="LǙ Xiàn", code="x") == collation_key(pinyin="lu xian", code="x")


def test_districts_with_the_same_pinyin_fall_back_to_the_code() -> None:
    a = DistrictCounts(
        code="B", name_hans="乙", name_hant="乙", english="B", pinyin="Yǐ", new_confirmed=1
    )
    b = replace(a, code="A")
    assert count_groups([a, b], measure="new_confirmed")[0].district_codes == ("A", "B")


@settings(deadline=None)
@given(st.permutations(reference_rows()))
def test_the_text_does_not_depend_on_the_order_of_the_input(rows: list[DistrictCounts]) -> None:
    for lang in ("zh-Hans", "zh-Hant", "en"):
        shuffled = render_bulletin(reference_bulletin(districts=tuple(rows)), lang=lang)
        assert shuffled == render_bulletin(reference_bulletin(), lang=lang)


@settings(deadline=None)  # no timing limit: the suite runs on a loaded machine
@given(
    st.lists(
        st.integers(0, 30),
        min_size=len(REFERENCE_14_NOV_0_18H),
        max_size=len(REFERENCE_14_NOV_0_18H),
    )
)
def test_groups_partition_the_districts_with_cases_by_descending_count(counts: list[int]) -> None:
    rows = [replace(r, new_confirmed=n) for r, n in zip(reference_rows(), counts, strict=True)]
    groups = count_groups(rows, measure="new_confirmed")
    listed = [code for g in groups for code in g.district_codes]
    assert sorted(listed) == sorted(r.code for r in rows if r.new_confirmed)
    assert all(a.count > b.count for a, b in pairwise(groups))
    assert sum(g.count * len(g.district_codes) for g in groups) == sum(counts)
    for g in groups:
        keys = [
            collation_key(pinyin=r.pinyin, code=r.code) for r in rows if r.code in g.district_codes
        ]
        assert [k[1] for k in sorted(keys)] == list(g.district_codes)


# -- the other sentences -----------------------------------------------------------------------


def mixed_bulletin(**changes: Any) -> BulletinInput:
    districts = (
        row("500106", new_confirmed=5, conversions=2, new_asymptomatic=40,
            found_under_control=30, found_on_surface=15),
        row("500113", new_confirmed=1, new_asymptomatic=40,
            found_under_control=41, found_on_surface=0),
        row("500103", new_asymptomatic=3, found_under_control=1, found_on_surface=2),
        row("500101"),  # nothing to report: left out
    )  # fmt: skip
    return reference_bulletin(districts=districts, end=END_14_NOV, **changes)


def test_confirmed_and_asymptomatic_each_get_a_breakdown_and_the_split_closes() -> None:
    assert render_bulletin(mixed_bulletin()).splitlines() == [
        "2022年11月14日0—24时，重庆市新增本土确诊病例6例（含2例无症状感染者转为确诊病例），"
        "新增本土无症状感染者83例。",
        "新增本土确诊病例中，沙坪坝区5例，巴南区1例。",
        "新增本土无症状感染者中，巴南区、沙坪坝区各40例，渝中区3例。",
        "以上新增本土确诊病例和无症状感染者中，管控内发现72例，社会面筛查发现17例。",
    ]


def test_the_traditional_bulletin_uses_traditional_names_and_wording() -> None:
    assert render_bulletin(mixed_bulletin(), lang="zh-Hant").splitlines() == [
        "2022年11月14日0—24時，重慶市新增本土確診病例6例（含2例無症狀感染者轉為確診病例），"
        "新增本土無症狀感染者83例。",
        "新增本土確診病例中，沙坪壩區5例，巴南區1例。",
        "新增本土無症狀感染者中，巴南區、沙坪壩區各40例，渝中區3例。",
        "以上新增本土確診病例和無症狀感染者中，管控內發現72例，社會面篩查發現17例。",
    ]


def test_the_english_bulletin_uses_english_names() -> None:
    assert render_bulletin(mixed_bulletin(), lang="en").splitlines() == [
        "From 00:00 to 24:00 on 14 November 2022, Chongqing reported 6 new local confirmed cases "
        "(including 2 asymptomatic infections reclassified as confirmed) and 83 new local "
        "asymptomatic infections.",
        "New local confirmed cases: 5 in Shapingba District, 1 in Banan District.",
        "New local asymptomatic infections: 40 each in Banan District and Shapingba District, "
        "3 in Yuzhong District.",
        "Of the above, 72 were found under control and 17 by screening in the community.",
    ]


def test_a_city_split_is_left_out_when_a_district_with_cases_does_not_report_it() -> None:
    districts = (
        row("500106", new_confirmed=2, found_under_control=2),
        row("500113", new_confirmed=1, found_under_control=0, found_on_surface=1),
        row("500101", found_on_surface=0),  # no cases: its missing figure does not matter
    )
    summary = summarise(reference_bulletin(districts=districts))
    assert (summary.found_under_control, summary.found_on_surface) == (2, None)
    text = render_bulletin(reference_bulletin(districts=districts))
    assert text.splitlines()[-1] == "以上新增本土确诊病例中，管控内发现2例。"
    assert "社会面" not in text


def test_only_asymptomatic_infections_say_no_new_confirmed_cases() -> None:
    districts = (row("500103", new_asymptomatic=1),)
    assert render_bulletin(reference_bulletin(districts=districts)).splitlines() == [
        "2022年11月14日0—18时，重庆市无新增本土确诊病例，新增本土无症状感染者1例。",
        "新增本土无症状感染者中，渝中区1例。",
    ]
    english = render_bulletin(reference_bulletin(districts=districts), lang="en")
    assert (
        "reported no new local confirmed cases and 1 new local asymptomatic infection." in english
    )


def test_a_period_without_infections_is_one_sentence() -> None:
    bulletin = reference_bulletin(districts=(row("500106"),))
    assert (
        render_bulletin(bulletin)
        == "2022年11月14日0—18时，重庆市无新增本土确诊病例和无症状感染者。"
    )
    assert render_bulletin(bulletin, lang="zh-Hant").endswith(
        "重慶市無新增本土確診病例和無症狀感染者。"
    )
    assert render_bulletin(bulletin, lang="en").endswith(
        "Chongqing reported no new local confirmed cases or asymptomatic infections."
    )


def test_extra_lines_close_the_bulletin_in_its_language() -> None:
    extra = ExtraLine(
        zh_hans="11月以来累计报告新增感染者超过8000例。",
        zh_hant="11月以來累計報告新增感染者超過8000例。",
        en="Since 1 November, more than 8,000 new infections have been reported.",
    )
    bulletin = reference_bulletin(extra_lines=(extra,))
    assert render_bulletin(bulletin).splitlines()[-1] == extra.zh_hans
    assert render_bulletin(bulletin, lang="zh-Hant").splitlines()[-1] == extra.zh_hant
    assert render_bulletin(bulletin, lang="en").splitlines()[-1] == extra.en


# -- the period --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "hans", "english"),
    [
        (
            START_14_NOV,
            END_14_NOV_18H,
            "2022年11月14日0—18时",
            "From 00:00 to 18:00 on 14 November 2022",
        ),
        (
            START_14_NOV,
            END_14_NOV,
            "2022年11月14日0—24时",
            "From 00:00 to 24:00 on 14 November 2022",
        ),
        (
            datetime(2022, 11, 13, 18, tzinfo=SHANGHAI),
            END_14_NOV_18H,
            "2022年11月13日18时至11月14日18时",
            "From 18:00 on 13 November 2022 to 18:00 on 14 November 2022",
        ),
        (
            START_14_NOV,
            datetime(2022, 11, 14, 18, 30, tzinfo=SHANGHAI),
            "2022年11月14日0时—18时30分",
            "From 00:00 to 18:30 on 14 November 2022",
        ),
        (
            datetime(2022, 12, 31, 12, tzinfo=SHANGHAI),
            datetime(2023, 1, 1, 12, tzinfo=SHANGHAI),
            "2022年12月31日12时至2023年1月1日12时",
            "From 12:00 on 31 December 2022 to 12:00 on 1 January 2023",
        ),
    ],
)
def test_the_period_phrase(start: datetime, end: datetime, hans: str, english: str) -> None:
    bulletin = reference_bulletin(start=start, end=end)
    assert render_bulletin(bulletin).startswith(f"{hans}，重庆市")
    assert render_bulletin(bulletin, lang="zh-Hant").startswith(f"{hans.replace('时', '時')}，")
    assert render_bulletin(bulletin, lang="en").startswith(f"{english}, Chongqing reported")


def test_only_a_midnight_to_midnight_period_is_a_whole_day() -> None:
    assert summarise(reference_bulletin(end=END_14_NOV)).whole_day
    assert not summarise(reference_bulletin()).whole_day


def test_times_in_another_zone_are_shown_in_the_bulletins_time_zone() -> None:
    bulletin = reference_bulletin(
        start=datetime(2022, 11, 13, 16, tzinfo=UTC), end=datetime(2022, 11, 14, 10, tzinfo=UTC)
    )
    assert render_bulletin(bulletin).startswith("2022年11月14日0—18时，")


# -- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "field"),
    [
        ({"new_confirmed": -1}, "new_confirmed"),
        ({"new_asymptomatic": -3}, "new_asymptomatic"),
        ({"new_confirmed": 1, "conversions": 2}, "conversions"),
        ({"new_confirmed": 2, "found_under_control": -1}, "found_under_control"),
        ({"new_confirmed": 2, "found_under_control": 1, "found_on_surface": 2}, "found_on_surface"),
        ({"new_confirmed": 2, "found_on_surface": 3}, "found_on_surface"),
        ({"new_confirmed": True}, "new_confirmed"),
        ({"new_confirmed": 2.0}, "new_confirmed"),
    ],
)
def test_a_bad_count_is_refused_naming_the_district_and_field(
    counts: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValueError, match=rf"500106 \(沙坪坝区\).*{field}"):
        row("500106", **counts)


def test_the_split_must_add_up_to_the_cases_reported() -> None:
    with pytest.raises(ValueError, match=r"found_under_control \(1\) \+ found_on_surface \(2\)"):
        row(
            "500106", new_confirmed=2, new_asymptomatic=2, found_under_control=1, found_on_surface=2
        )


def test_a_district_reported_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="districts: district code 500106 appears twice"):
        reference_bulletin(districts=(row("500106"), row("500106", new_confirmed=1)))


def test_pinyin_must_be_romanised() -> None:
    with pytest.raises(ValueError, match=r"500106 \(沙坪坝区\): pinyin"):
        replace(row("500106"), pinyin="沙坪坝")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"end": START_14_NOV}, "end"),
        ({"start": datetime(2022, 11, 14)}, "start"),  # noqa: DTZ001 - a naive time is the error
        ({"end": datetime(2022, 11, 14, 18, 0, 30, tzinfo=SHANGHAI)}, "end"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"place_hans": " "}, "place_hans"),
    ],
)
def test_a_bad_period_or_place_is_refused_naming_the_field(
    changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValueError, match=rf"^{field}:"):
        reference_bulletin(**changes)


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="lang"):
        render_bulletin(reference_bulletin(), lang="fr")  # type: ignore[arg-type]
