"""Reading ORU^R01 messages: the direct split and python-hl7 give the same segments; times,
codes and every refusal are located by segment and field."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xietong.interop import codes, hl7v2

AT = datetime(2022, 11, 15, 3, 0, tzinfo=UTC)


def sample(**changes: object) -> str:
    values: dict[str, object] = {
        "control_id": "C1",
        "tube_code": "T0001",
        "outcome": "positive",
        "lab": "LAB-1",
        "reported_at": AT,
        "collected_at": AT.replace(hour=0),
        "ct": 27.5,
        "pooled": True,
    }
    values.update(changes)
    return hl7v2.result_message(**values)  # type: ignore[arg-type]


def components(segments: list[hl7v2.Segment]) -> list[tuple[str, list[list[str]]]]:
    return [
        (name, [v.split("^") if isinstance(v, str) else v for v in fields[3:]])
        for name, fields in segments
    ]


# Values a laboratory might put in a field: printable ASCII, delimiters only where they mean
# something.
plain = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E, blacklist_characters="|^~\\&"),
    max_size=12,
)


@settings(deadline=None, max_examples=200)
@given(st.lists(st.lists(st.lists(plain, min_size=1, max_size=4), max_size=8), max_size=5))
def test_the_direct_split_reads_what_python_hl7_reads(
    segments: list[list[list[str]]],
) -> None:
    lines = ["MSH|^~\\&|LIS|LAB|XIETONG|XIETONG|20221115100000||ORU^R01|C1|P|2.5.1"]
    for k, fields in enumerate(segments):
        lines.append("|".join([f"Z{k % 10}X", *("^".join(f) for f in fields)]))
    message = "\r".join(lines)
    fast = hl7v2.read_segments(message)
    assert fast is not None
    assert components(fast) == components(hl7v2.parse_segments(message))


def test_an_escaped_value_is_left_to_python_hl7() -> None:
    message = sample().replace("LAB-1\r", "LAB\\T\\1\r")
    assert hl7v2.read_segments(message) is None
    reading = hl7v2.read_message(message)
    assert not reading.problems
    # OBX-23 of the presence OBX names the laboratory, unescaped.
    assert reading.records[0][3] == "LAB&1"


def test_a_result_message_becomes_one_intake_record() -> None:
    reading = hl7v2.read_message(sample())
    assert reading.problems == []
    assert reading.records == [("T0001", "positive", "27.5", "LAB-1", "2022-11-15T03:00:00+00:00")]


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("202211151030+0800", "2022-11-15T10:30:00+08:00"),
        ("20221115103005-0500", "2022-11-15T10:30:05-05:00"),
        ("20221115103005.25", "2022-11-15T10:30:05.250000"),
    ],
)
def test_hl7_times_read_as_iso(text: str, iso: str) -> None:
    assert hl7v2.hl7_instant(text) == iso


@pytest.mark.parametrize("text", ["20221115", "20221332103000", "20221115103000+08"])
def test_hl7_times_without_minutes_or_impossible_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        hl7v2.hl7_instant(text)


@pytest.mark.parametrize(
    ("edit", "where", "code"),
    [
        (("CWE|94500-6^", "CWE|12345-6^"), "OBX[1]-3", 103),
        (("462371000124108^", "840539006^"), "OBX[1]-5", 103),
        (("||27.5|", "||fifty|"), "OBX[2]-5", 102),
        (("||||||F||||||||2022", "||||||P||||||||2022"), "OBX[1]-11", 103),
        (("SPM|1|T0001|", "SPM|1||"), "SPM[1]-2", 101),
        (("|||F\rOBX", "|||F\rOBX"), None, 0),
    ],
)
def test_each_refusal_names_its_segment_and_field(
    edit: tuple[str, str], where: str | None, code: int
) -> None:
    message = sample().replace(*edit, 1)
    reading = hl7v2.read_message(message)
    if where is None:
        assert reading.problems == []
        return
    assert [(p.location, p.code) for p in reading.problems][:1] == [(where, code)]
    assert reading.records == []


def test_a_message_without_specimen_or_result_is_refused_at_its_obr() -> None:
    no_spm = "\r".join(line for line in sample().split("\r") if not line.startswith("SPM"))
    assert [p.location for p in hl7v2.read_message(no_spm).problems] == ["OBR[1]"]
    no_obx = "\r".join(line for line in sample().split("\r") if not line.startswith("OBX"))
    assert [p.location for p in hl7v2.read_message(no_obx).problems] == ["OBR[1]"]


def test_the_pooled_specimen_codes_are_reportstreams() -> None:
    assert codes.result_outcome("462371000124108").outcome == "positive"
    assert codes.result_outcome("895231008").outcome == "negative"
    assert codes.result_outcome("462371000124108").pooled
    with pytest.raises(codes.UnknownCode, match="unknown SNOMED CT"):
        codes.result_outcome("840539006")
    with pytest.raises(codes.UnknownCode, match="LOINC"):
        codes.kind_of_test("94500-6", codes.SNOMED)


def test_an_ack_escapes_the_reason_and_locates_the_error() -> None:
    reading = hl7v2.read_message(sample())
    text = hl7v2.ack(
        reading,
        code="AE",
        at=AT,
        control_id="A1",
        problems=[hl7v2.Problem("OBX", 2, 5, 1, 102, "bad | value")],
    )
    lines = text.split("\r")
    assert lines[0].startswith("MSH|^~\\&|XIETONG|XIETONG|LIS|LAB-1|20221115030000+0000||ACK")
    assert lines[1] == "MSA|AE|C1"
    assert lines[2] == "ERR||OBX^2^5^1^1|102^Data type error^HL70357|E||||bad \\F\\ value"
