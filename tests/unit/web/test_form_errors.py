"""A form's Pydantic errors in words of the reader's language, by the error's type, with the
field's label: nothing of Pydantic's English reaches a Chinese page."""

from __future__ import annotations

from datetime import date
from typing import Literal

import pytest
from pydantic import BaseModel, Field, ValidationError

from xietong.core.errors import RowError
from xietong.web.form_errors import field_errors, labelled


class Sample(BaseModel):
    count: int = Field(ge=1)
    day: date
    kind: Literal["a", "b"]
    code: str = Field(min_length=1, max_length=5)
    name: str = Field(min_length=2, pattern=r"^[a-z]+$")


LABELS = {"count": "数量", "day": "日期", "kind": "类别", "code": "编码", "name": "名称"}


def errors_of(data: dict[str, object], lang: Literal["zh", "en"] = "zh") -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        Sample.model_validate(data)
    found = field_errors(caught.value, lang=lang, record="sample", labels=LABELS)
    return {e.field: e.reason for e in found}


def test_each_kind_of_error_is_said_in_chinese_with_the_fields_label() -> None:
    said = errors_of({"count": "x", "day": "14/11/2022", "kind": "c", "code": "", "name": "A"})
    assert said == {
        "count": "“数量”须为数字",
        "day": "“日期”不是有效日期（年-月-日）",
        "kind": "“类别”须从选项中选择",
        "code": "请填写“编码”",
        "name": "“名称”至少 2 个字符",
    }
    said = errors_of({"count": 0, "day": "2022-11-14", "kind": "a", "code": "123456", "name": "B1"})
    assert said == {
        "count": "“数量”不能小于 1",
        "code": "“编码”最多 5 个字符",
        "name": "“名称”格式不对",
    }
    assert errors_of({"day": "2022-11-14", "kind": "a", "code": "1", "name": "ab"}) == {
        "count": "请填写“数量”"
    }


def test_in_english_the_same_errors_read_as_english_sentences() -> None:
    said = errors_of({"count": "x", "day": "no", "kind": "c", "code": "123456", "name": "ab"}, "en")
    assert said == {
        "count": "数量: not a number",
        "day": "日期: not a date (year-month-day)",
        "kind": "类别: choose one of the options",
        "code": "编码: at most 5 characters",
    }


def test_a_services_refusal_is_led_by_the_label_and_translated_where_known() -> None:
    refused = [
        RowError("referral", "to_district_code", "unknown district", "999"),
        RowError("referral", "note", "something new"),
    ]
    shown = labelled(
        refused,
        lang="zh",
        labels={"to_district_code": "接收区", "note": "备注"},
        fields={"to_district_code": "to_district"},
    )
    assert [(e.field, e.reason) for e in shown] == [
        ("to_district", "“接收区”：无此区县"),
        ("note", "“备注”：something new"),
    ]
