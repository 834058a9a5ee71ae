"""HL7 v2.5.1 ORU^R01 laboratory results: messages split from a stream, each mapped to the
screening intake's records (tube, outcome, Ct, laboratory, time), and the ACK that answers it.
Pure: no database.

Each message is read once, its segments split by `hl7v2_segments` (directly, or by python-hl7
when it has escapes or repetitions). Walking the segments is one pass: every OBR opens a result,
its OBX and SPM segments fill it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

import hl7

from xietong.interop import codes
from xietong.interop.hl7v2_segments import Fields as Fields
from xietong.interop.hl7v2_segments import Segment as Segment
from xietong.interop.hl7v2_segments import components, part, segments_of
from xietong.interop.hl7v2_segments import iter_messages as iter_messages
from xietong.interop.hl7v2_segments import parse_segments as parse_segments
from xietong.interop.hl7v2_segments import read_segments as read_segments
from xietong.interop.hl7v2_segments import split_messages as split_messages

ACCEPTED_STATUSES = {"F": "final", "C": "corrected"}
# Real-time PCR runs 40-45 cycles; a Ct outside (0, 50] is a typing error (as for CSV).
MAX_CT = 50.0
_ESCAPER = hl7.parse("MSH|^~\\&|XIETONG\r")


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason to refuse a message, located as HL7's ERR-2 does (segment, its sequence among
    segments of that name, field, component) with an HL7 table 0357 error code."""

    segment: str
    sequence: int
    field: int
    component: int
    code: int
    reason: str
    value: str | None = None

    @property
    def location(self) -> str:
        at = f"{self.segment}[{self.sequence}]"
        if self.field:
            at += f"-{self.field}"
            if self.component > 1:
                at += f".{self.component}"
        return at

    def __str__(self) -> str:
        shown = f" (got {self.value!r})" if self.value is not None else ""
        return f"{self.location}: {self.reason}{shown}"


# HL7 table 0357 (message error condition codes).
REQUIRED_MISSING = 101
DATA_TYPE_ERROR = 102
TABLE_VALUE_NOT_FOUND = 103
UNSUPPORTED_MESSAGE_TYPE = 200
UNSUPPORTED_EVENT = 201
UNSUPPORTED_VERSION = 203
UNKNOWN_KEY = 204
SEGMENT_SEQUENCE = 100
APPLICATION_ERROR = 207
_CODE_TEXT = {
    0: "Message accepted",
    SEGMENT_SEQUENCE: "Segment sequence error",
    REQUIRED_MISSING: "Required field missing",
    DATA_TYPE_ERROR: "Data type error",
    TABLE_VALUE_NOT_FOUND: "Table value not found",
    UNSUPPORTED_MESSAGE_TYPE: "Unsupported message type",
    UNSUPPORTED_EVENT: "Unsupported event code",
    UNSUPPORTED_VERSION: "Unsupported version id",
    UNKNOWN_KEY: "Unknown key identifier",
    APPLICATION_ERROR: "Application internal error",
}


@dataclass(frozen=True, slots=True)
class Located:
    """Where each value of a result came from, to name it when the intake refuses the value."""

    tube_code: tuple[str, int, int]
    result: tuple[str, int, int]
    reported_at: tuple[str, int, int]


@dataclass(slots=True)
class Reading:
    """A message as read: who sent it (for the ACK), its results as intake records, and the
    problems that refuse it (`rejected`: not a message we take at all, AR; else AE)."""

    control_id: str = ""
    sending_application: str = ""
    sending_facility: str = ""
    records: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    located: list[Located] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    rejected: bool = False


def _at(parts: list[str], k: int) -> str:
    return parts[k] if k < len(parts) else ""


def hl7_instant(text: str) -> str:
    """An HL7 DTM (YYYYMMDDHHMM[SS[.S…]][+/-ZZZZ]) as ISO 8601; without an offset it stays
    local time (the intake reads it in the deployment's zone)."""
    value = text.strip()
    offset = ""
    for sign in ("+", "-"):
        at = value.find(sign)
        if at > 0:
            value, zone = value[:at], value[at:]
            if len(zone) != 5 or not zone[1:].isdigit():
                raise ValueError("time zone offset must be +HHMM or -HHMM")
            offset = f"{zone[:3]}:{zone[3:]}"
            break
    whole, _, fraction = value.partition(".")
    if not whole.isdigit() or len(whole) not in (12, 14) or (fraction and not fraction.isdigit()):
        raise ValueError("not an HL7 date and time to the minute (YYYYMMDDHHMM[SS][+ZZZZ])")
    seconds = whole[12:14] or "00"
    iso = f"{whole[:4]}-{whole[4:6]}-{whole[6:8]}T{whole[8:10]}:{whole[10:12]}:{seconds}"
    if fraction:
        iso += "." + fraction[:6].ljust(6, "0")
    datetime.fromisoformat(iso)  # a real calendar date and time, or ValueError
    return iso + offset


@dataclass(slots=True)
class _Order:
    obr: int
    reported: str
    reported_at: tuple[str, int, int]
    outcome: str | None = None
    outcome_at: tuple[str, int, int] = ("OBR", 0, 4)
    ct: float | None = None
    lab: str = ""
    tube_code: str = ""
    tube_at: tuple[str, int, int] = ("SPM", 0, 2)
    specimen_seen: bool = False


def read_message(message: str, *, instants: dict[str, str] | None = None) -> Reading:
    """Map one ORU^R01 message to intake records, or to the problems that refuse it."""
    reading = Reading()
    try:
        segments = segments_of(message)
    except (hl7.ParseException, ValueError, IndexError) as exc:
        reading.rejected = True
        reading.problems.append(Problem("MSH", 1, 0, 1, SEGMENT_SEQUENCE, f"unreadable: {exc}"))
        return reading
    if not segments or segments[0][0] != "MSH":
        reading.rejected = True
        reading.problems.append(
            Problem("MSH", 1, 0, 1, SEGMENT_SEQUENCE, "a message starts with its MSH segment")
        )
        return reading
    msh = segments[0][1]
    reading.control_id = part(msh, 10)
    reading.sending_application = part(msh, 3)
    reading.sending_facility = part(msh, 4)
    _check_header(msh, reading)
    if reading.rejected:
        return reading
    cache = instants if instants is not None else {}
    facility = reading.sending_facility
    sent = part(msh, 7)
    counts: dict[str, int] = {}
    orders: list[_Order] = []
    for name, fields in segments[1:]:
        seq = counts[name] = counts.get(name, 0) + 1
        if name == "OBR":
            orders.append(_open_order(fields, seq, sent))
        elif name == "OBX":
            if not orders:
                reading.problems.append(
                    Problem("OBX", seq, 0, 1, SEGMENT_SEQUENCE, "an OBX before any OBR")
                )
            elif not orders[-1].specimen_seen:
                _observation(fields, seq, orders[-1], reading)
        elif name == "SPM":
            if not orders:
                reading.problems.append(
                    Problem("SPM", seq, 0, 1, SEGMENT_SEQUENCE, "an SPM before any OBR")
                )
            else:
                _specimen(fields, seq, orders[-1], reading)
    if not orders:
        reading.problems.append(
            Problem("OBR", 1, 0, 1, SEGMENT_SEQUENCE, "no OBR segment: the message reports no test")
        )
    for order in orders:
        _close_order(order, facility, cache, reading)
    if reading.problems:
        reading.records.clear()
        reading.located.clear()
    return reading


def _check_header(msh: Fields, reading: Reading) -> None:
    kind_event = components(msh, 9)
    kind, event = _at(kind_event, 0), _at(kind_event, 1)
    version = part(msh, 12)
    if kind != "ORU":
        reading.problems.append(
            Problem(
                "MSH", 1, 9, 1, UNSUPPORTED_MESSAGE_TYPE, "only ORU^R01 results are taken", kind
            )
        )
    elif event != "R01":
        reading.problems.append(
            Problem("MSH", 1, 9, 2, UNSUPPORTED_EVENT, "only ORU^R01 results are taken", event)
        )
    if not version.startswith("2."):
        reading.problems.append(
            Problem("MSH", 1, 12, 1, UNSUPPORTED_VERSION, "an HL7 v2 version is needed", version)
        )
    if not reading.control_id:
        reading.problems.append(
            Problem("MSH", 1, 10, 1, REQUIRED_MISSING, "the message control ID is missing")
        )
    reading.rejected = bool(reading.problems)


def _instant(
    text: str, where: tuple[str, int, int], cache: dict[str, str], reading: Reading
) -> str | None:
    found = cache.get(text)
    if found is not None:
        return found
    try:
        iso = hl7_instant(text)
    except ValueError as exc:
        reading.problems.append(Problem(where[0], where[1], where[2], 1, DATA_TYPE_ERROR, str(exc)))
        return None
    cache[text] = iso
    return iso


def _open_order(fields: Fields, seq: int, sent: str) -> _Order:
    # The result's time: OBR-22 (results reported), else the message's time (MSH-7); an
    # OBX-19 (analysis time) replaces the message's time when OBR-22 is empty.
    reported = part(fields, 22)
    where = ("OBR", seq, 22) if reported else ("MSH", 1, 7)
    return _Order(obr=seq, reported=reported or sent, reported_at=where)


def _observation(fields: Fields, seq: int, order: _Order, reading: Reading) -> None:
    test = components(fields, 3)
    code, system = _at(test, 0), _at(test, 2)
    try:
        kind = codes.kind_of_test(code, codes.V2_SYSTEMS.get(system, system))
    except codes.UnknownCode as exc:
        reading.problems.append(Problem("OBX", seq, 3, 1, TABLE_VALUE_NOT_FOUND, str(exc), code))
        return
    status = part(fields, 11)
    if status not in ACCEPTED_STATUSES:
        reading.problems.append(
            Problem(
                "OBX",
                seq,
                11,
                1,
                TABLE_VALUE_NOT_FOUND,
                "only final (F) or corrected (C) results are taken",
                status,
            )
        )
        return
    if kind == "presence":
        _presence(fields, seq, order, reading)
    else:
        _cycle_threshold(fields, seq, order, reading)
    analysed = part(fields, 19)
    if analysed and order.reported_at[0] == "MSH":
        order.reported, order.reported_at = analysed, ("OBX", seq, 19)


def _presence(fields: Fields, seq: int, order: _Order, reading: Reading) -> None:
    value_type = part(fields, 2)
    if value_type not in ("CWE", "CE"):
        reading.problems.append(
            Problem(
                "OBX", seq, 2, 1, DATA_TYPE_ERROR, "a coded result (CWE) is expected", value_type
            )
        )
        return
    value = components(fields, 5)
    code, system = _at(value, 0), _at(value, 2)
    try:
        found = codes.result_outcome(code, codes.V2_SYSTEMS.get(system, system))
    except codes.UnknownCode as exc:
        reading.problems.append(Problem("OBX", seq, 5, 1, TABLE_VALUE_NOT_FOUND, str(exc), code))
        return
    if order.outcome is not None and order.outcome != found.outcome:
        reading.problems.append(
            Problem(
                "OBX",
                seq,
                5,
                1,
                TABLE_VALUE_NOT_FOUND,
                f"contradicts the order's earlier result ({order.outcome})",
                code,
            )
        )
        return
    order.outcome, order.outcome_at = found.outcome, ("OBX", seq, 5)
    if not order.lab:
        performer = components(fields, 23)
        order.lab = _at(performer, 9) or _at(performer, 0)


def _cycle_threshold(fields: Fields, seq: int, order: _Order, reading: Reading) -> None:
    text = part(fields, 5).strip()
    if not text:
        return
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if math.isnan(value) or not 0.0 < value <= MAX_CT:
        reading.problems.append(
            Problem(
                "OBX",
                seq,
                5,
                1,
                DATA_TYPE_ERROR,
                f"a Ct between 0 and {MAX_CT:g} is expected",
                text,
            )
        )
        return
    # Several targets (E, N, ORF1ab): the lowest Ct, the strongest signal, is the tube's.
    order.ct = value if order.ct is None else min(order.ct, value)


def _specimen(fields: Fields, seq: int, order: _Order, reading: Reading) -> None:
    order.specimen_seen = True
    code = part(fields, 2, 1) or part(fields, 2, 2)
    order.tube_at = ("SPM", seq, 2)
    if not code or len(code) > 40:
        reading.problems.append(
            Problem(
                "SPM",
                seq,
                2,
                1,
                REQUIRED_MISSING,
                "the specimen ID (the tube code) is missing or longer than 40",
                code,
            )
        )
        return
    order.tube_code = code


def _close_order(order: _Order, facility: str, cache: dict[str, str], reading: Reading) -> None:
    if not order.specimen_seen:
        reading.problems.append(
            Problem(
                "OBR",
                order.obr,
                0,
                1,
                SEGMENT_SEQUENCE,
                "no SPM segment after this OBR: the tube code is read from SPM-2",
            )
        )
        return
    if order.outcome is None:
        reading.problems.append(
            Problem(
                "OBR",
                order.obr,
                0,
                1,
                REQUIRED_MISSING,
                "no OBX with a SARS-CoV-2 RNA presence result (e.g. LOINC 94500-6)",
            )
        )
        return
    lab = order.lab or facility
    if not lab or len(lab) > 40:
        reading.problems.append(
            Problem(
                "MSH",
                1,
                4,
                1,
                REQUIRED_MISSING,
                "the laboratory (OBX-23 or MSH-4) is missing or longer than 40",
                lab,
            )
        )
        return
    if not order.tube_code or not order.reported:
        if not order.reported:
            reading.problems.append(
                Problem("OBR", order.obr, 22, 1, REQUIRED_MISSING, "the result's time is missing")
            )
        return
    iso = _instant(order.reported, order.reported_at, cache, reading)
    if iso is None:
        return
    ct = "" if order.ct is None else repr(order.ct)
    reading.records.append((order.tube_code, order.outcome, ct, lab, iso))
    reading.located.append(Located(order.tube_at, order.outcome_at, order.reported_at))


# --- acknowledgements -------------------------------------------------------------------------


_DELIMITERS = frozenset("|^~\\&\r\n")


def escape(text: str) -> str:
    """Text made safe for an HL7 field (delimiters escaped; non-ASCII as hex, HL7's default)."""
    if text.isascii() and _DELIMITERS.isdisjoint(text):
        return text
    return str(_ESCAPER.escape(text))


def ack(
    reading: Reading,
    *,
    code: str,
    at: datetime,
    control_id: str,
    problems: Iterable[Problem] = (),
    note: str = "",
) -> str:
    """The ACK of one message: MSH, MSA (AA, AE or AR with the original control ID) and one ERR
    per problem (location, table 0357 code, severity E, the reason as the user message)."""
    stamp = at.strftime("%Y%m%d%H%M%S%z")
    lines = [
        f"MSH|^~\\&|XIETONG|XIETONG|{escape(reading.sending_application)}|"
        f"{escape(reading.sending_facility)}|{stamp}||ACK^R01^ACK|{escape(control_id)}|P|2.5.1",
        f"MSA|{code}|{escape(reading.control_id)}" + (f"|{escape(note)}" if note else ""),
    ]
    for problem in problems:
        location = f"{problem.segment}^{problem.sequence}"
        if problem.field:
            location += f"^{problem.field}^1^{problem.component}"
        reason = problem.reason + (f" (got {problem.value!r})" if problem.value else "")
        lines.append(
            f"ERR||{location}|{problem.code}^{_CODE_TEXT.get(problem.code, '')}^HL70357|E"
            f"||||{escape(reason)}"
        )
    return "\r".join(lines) + "\r"


def chunked(items: Iterable[str], size: int) -> Iterator[list[str]]:
    """Consecutive lists of at most `size` items."""
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


# --- composing (what a laboratory system sends; the benchmark, tests and docs use it) ----------


def hl7_time(at: datetime) -> str:
    """An aware datetime as an HL7 DTM with its offset."""
    return at.strftime("%Y%m%d%H%M%S%z")


def result_message(
    *,
    control_id: str,
    tube_code: str,
    outcome: str,
    lab: str,
    reported_at: datetime,
    collected_at: datetime,
    ct: float | None = None,
    pooled: bool = False,
    test_code: str = "94500-6",
) -> str:
    """One ORU^R01 (v2.5.1 ELR) message reporting one tube: the coded result, its Ct, the
    specimen."""
    result = codes.OUTCOME_CODES[(outcome, pooled)]
    display = codes.RESULTS[result].display
    reported, collected = hl7_time(reported_at), hl7_time(collected_at)
    lines = [
        f"MSH|^~\\&|LIS|{lab}|XIETONG|XIETONG|{reported}||ORU^R01^ORU_R01|{control_id}|P|2.5.1",
        f"PID|1||{tube_code}^^^{lab}^PI",
        f"ORC|RE|{tube_code}|{tube_code}",
        f"OBR|1|{tube_code}|{tube_code}|{test_code}^SARS-CoV-2 RNA^LN|||{collected}"
        f"|||||||||||||||{reported}|||F",
        f"OBX|1|CWE|{test_code}^SARS-CoV-2 RNA^LN||{result}^{display}^SCT||||||F"
        f"||||||||{reported}||||{lab}",
    ]
    if ct is not None:
        lines.append(
            f"OBX|2|NM|94746-5^SARS-CoV-2 RNA Ct^LN||{ct:g}|{{Ct}}^^UCUM|||||F"
            f"||||||||{reported}||||{lab}"
        )
    lines.append(f"SPM|1|{tube_code}||258500001^Nasopharyngeal swab^SCT|||||||||||||{collected}")
    return "\r".join(lines) + "\r"
