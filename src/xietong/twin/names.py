"""Synthetic Chinese names: common surnames and given-name characters, combined at random.

Names are decoration for the demo; they are encrypted at rest like real ones.
"""

from __future__ import annotations

import numpy as np

# The most frequent surnames in the 2020 census (Ministry of Public Security, 2021 report).
SURNAMES = tuple(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵万覃武钱戴严莫孔向常汤康易乔赖文"
)
GIVEN = tuple(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红梅鹏辉建国志宇浩然欣怡子涵梓轩雨婷诗琪思远俊杰嘉怡晨曦佳琪"
)


def synthetic_names(rng: np.random.Generator, count: int) -> list[str]:
    """`count` names of one surname and one or two given characters."""
    surnames = rng.integers(0, len(SURNAMES), count)
    first = rng.integers(0, len(GIVEN), count)
    second = rng.integers(-len(GIVEN), len(GIVEN), count)  # negative: a one-character name
    return [
        SURNAMES[s] + GIVEN[f] + (GIVEN[g] if g >= 0 else "")
        for s, f, g in zip(surnames.tolist(), first.tolist(), second.tolist(), strict=True)
    ]
