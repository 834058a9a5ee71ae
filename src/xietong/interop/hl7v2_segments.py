"""HL7 v2 messages as segments and fields: a stream split into messages (batch envelopes and MLLP
frame characters left out), a message into its segments, a field into its components. Pure.

A message with the standard delimiters and no escape sequence or repetition (what laboratory
systems send for a screening result) is split on its delimiters directly; any other message is
parsed by python-hl7, which handles escapes, repetitions and custom delimiters, and both give the
same segments (a Hypothesis property checks it).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import hl7

# A message's fields: raw text (the fast path: no escapes, split on "^" when read), or the
# components python-hl7 parsed and unescaped. Field n of a segment is fields[n] (MSH as well).
Fields = list[str | list[str]]
Segment = tuple[str, Fields]

_BATCH_SEGMENTS = ("FHS", "BHS", "BTS", "FTS")


def iter_messages(stream: Iterable[str]) -> Iterator[str]:
    """The messages of a stream of segments: one per MSH, batch headers and trailers (FHS, BHS,
    BTS, FTS) and MLLP frame characters left out. Segments end with a carriage return, a line
    feed or both; each message is given back with carriage returns."""
    lines: list[str] = []
    for raw in stream:
        line = raw.strip("\r\n\x0b\x1c")
        if not line:
            continue
        head = line[:3]
        if head == "MSH":
            if lines:
                yield "\r".join(lines)
            lines = [line]
        elif head in _BATCH_SEGMENTS:
            continue
        else:
            lines.append(line)
    if lines:
        yield "\r".join(lines)


def split_messages(text: str) -> list[str]:
    """The messages of a text (an API body): see `iter_messages`."""
    return list(iter_messages(_lines(text)))


def _lines(text: str) -> Iterator[str]:
    return iter(text.replace("\r\n", "\r").replace("\n", "\r").split("\r"))


def read_segments(message: str) -> list[Segment] | None:
    """The segments of a message with standard delimiters and no escape or repetition, split
    directly; None when python-hl7 must parse it."""
    if not message.startswith("MSH|^~\\&|"):
        return None
    segments: list[Segment] = []
    for k, line in enumerate(message.split("\r")):
        if not line:
            continue
        body = line[8:] if k == 0 else line
        if "\\" in body or "~" in body:
            return None
        fields: Fields = list(line.split("|"))
        if k == 0:
            fields.insert(1, "|")
        segments.append((str(fields[0]), fields))
    return segments


def parse_segments(message: str) -> list[Segment]:
    """The segments of any message, through python-hl7: first repetition of each field, its
    components unescaped."""
    parsed = hl7.parse(message)
    segments: list[Segment] = []
    for segment in parsed:
        name = str(segment[0])
        fields: Fields = [name]
        for value in list(segment)[1:]:
            fields.append(_components(parsed, value))
        if name == "MSH":
            fields[1] = "|"
            fields[2] = str(segment[2])
        segments.append((name, fields))
    return segments


def _components(parsed: hl7.Message, value: object) -> list[str]:
    """The first repetition's components, each its first sub-component, unescaped."""
    if isinstance(value, str):
        return [parsed.unescape(value)]
    items = list(value)  # type: ignore[call-overload]
    if not items:
        return [""]
    first = items[0]
    if isinstance(first, str) or not isinstance(first, hl7.Repetition):
        return [parsed.unescape(_first_sub(first))]
    return [parsed.unescape(_first_sub(component)) for component in first] or [""]


def _first_sub(component: object) -> str:
    if isinstance(component, str):
        return component
    items = list(component)  # type: ignore[call-overload]
    return str(items[0]) if items else ""


def segments_of(message: str) -> list[Segment]:
    """A message's segments by the fast split when it applies, else by python-hl7."""
    fast = read_segments(message)
    return fast if fast is not None else parse_segments(message)


def part(fields: Fields, n: int, component: int = 1) -> str:
    """Component `component` of field `n` (1-based), "" when absent; the first sub-component."""
    if n >= len(fields):
        return ""
    value = fields[n]
    if type(value) is str:
        if component == 1:
            return value.partition("^")[0].partition("&")[0]
        parts = value.split("^")
        if component > len(parts):
            return ""
        return parts[component - 1].partition("&")[0]
    # Parsed by python-hl7: components already cut to their first sub-component.
    return value[component - 1] if component <= len(value) else ""


def components(fields: Fields, n: int) -> list[str]:
    """The components of field `n` (each its first sub-component when parsed by python-hl7)."""
    if n >= len(fields):
        return [""]
    value = fields[n]
    if type(value) is not str:
        return value  # type: ignore[return-value]
    parts = value.split("^")
    if "&" in value:
        parts = [p.partition("&")[0] for p in parts]
    return parts
