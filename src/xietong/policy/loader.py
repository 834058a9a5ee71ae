"""Reading a policy: a TOML file in, a validated `Policy` out, or every problem in it at once.

Each problem names the dotted key, the reason and, when the key can be found in the text, its
line, so that a district coordinator can fix a file in one pass instead of one error at a time.
"""

from __future__ import annotations

import difflib
import functools
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import annotated_types
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from xietong.policy.rules import Policy

__all__ = [
    "DEFAULT_POLICY_NAME",
    "PolicyError",
    "PolicyProblem",
    "bundled_policy",
    "bundled_policy_names",
    "default_policy",
    "load_policy",
    "load_policy_text",
    "override_policy",
    "policy_from_mapping",
]

DEFAULT_POLICY_NAME = "default"
_PACKAGE = "xietong.policy"
_ALTERNATIVES = "alternatives"

ProblemKind = Literal["syntax", "unknown_key", "missing_key", "wrong_type", "invalid_value"]


@dataclass(frozen=True)
class PolicyProblem:
    """One thing wrong with a policy: where (dotted key, line) and why."""

    path: str  # dotted key such as "screening.pool_size"; "" for the file as a whole
    reason: str
    line: int | None = None
    kind: ProblemKind = "invalid_value"
    suggestion: str | None = None  # the key or value probably meant, when one is close

    def render(self, source: str) -> str:
        where = f"{source}:{self.line}" if self.line is not None else source
        if not self.path:
            return f"{where}: {self.reason}"
        separator = " " if self.line is not None else ": "
        return f"{where}{separator}{self.path}: {self.reason}"


class PolicyError(ValueError):
    """A policy that cannot be used, with every problem found in it."""

    def __init__(self, source: str, problems: Iterable[PolicyProblem]) -> None:
        self.source = source
        self.problems = tuple(
            sorted(problems, key=lambda p: (p.line is None, p.line or 0, p.path, p.reason))
        )
        rendered = [problem.render(source) for problem in self.problems]
        if len(rendered) == 1:
            message = rendered[0]
        else:
            listing = "\n".join(f"  {line}" for line in rendered)
            message = f"{source}: {len(rendered)} problems in the policy\n{listing}"
        super().__init__(message)

    def as_dicts(self) -> list[dict[str, object]]:
        """The problems as plain records (for an API answer)."""
        return [
            {"line": p.line, "key": p.path, "reason": p.reason, "kind": p.kind}
            for p in self.problems
        ]


# --- loading -------------------------------------------------------------------------------


def load_policy(path: Path) -> Policy:
    """Read and validate the policy file at `path`."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        problem = PolicyProblem(
            path="", reason=f"not UTF-8 text ({error.reason} at byte {error.start})", kind="syntax"
        )
        raise PolicyError(str(path), [problem]) from None
    return load_policy_text(text, source=str(path))


def load_policy_text(text: str, *, source: str) -> Policy:
    """Validate a policy given as TOML text; `source` names it in the errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PolicyError(source, [_syntax_problem(error, text)]) from None
    return _validate(data, source=source, lines=_key_lines(text))


def policy_from_mapping(data: Mapping[str, Any], *, source: str) -> Policy:
    """Validate a policy given as nested mappings (a parsed file, a stored record)."""
    return _validate(data, source=source, lines={})


def override_policy(
    policy: Policy, changes: Mapping[str, object], *, source: str = "overrides"
) -> Policy:
    """A copy of `policy` with the values at the dotted keys of `changes`, validated as a file is.

    Give the copy its own `version` (and `effective_from`) when it is to be kept in a history.
    """
    data: dict[str, Any] = policy.model_dump(mode="python")
    problems: list[PolicyProblem] = []
    for dotted, value in changes.items():
        parts = dotted.split(".")
        table = data
        for depth, part in enumerate(parts[:-1]):
            inner = table.setdefault(part, {})
            if not isinstance(inner, dict):
                where = ".".join(parts[: depth + 1])
                problems.append(
                    PolicyProblem(path=where, reason="is a value, not a table", kind="wrong_type")
                )
                break
            table = inner
        else:
            table[parts[-1]] = value
    if problems:
        raise PolicyError(source, problems)
    return _validate(data, source=source, lines={})


@functools.cache
def default_policy() -> Policy:
    """The packaged default policy (the twenty measures of 11 Nov 2022), read once."""
    return bundled_policy(DEFAULT_POLICY_NAME)


def bundled_policy_names() -> tuple[str, ...]:
    """Names of the policies packaged with xietong: the default, then the alternatives."""
    folder = resources.files(_PACKAGE).joinpath(_ALTERNATIVES)
    alternatives = sorted(
        entry.name.removesuffix(".toml")
        for entry in folder.iterdir()
        if entry.is_file() and entry.name.endswith(".toml")
    )
    return (DEFAULT_POLICY_NAME, *alternatives)


def bundled_policy(name: str) -> Policy:
    """A policy packaged with xietong, by name (see `bundled_policy_names`)."""
    names = bundled_policy_names()
    if name not in names:
        close = difflib.get_close_matches(name, names, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else f"; known: {', '.join(names)}"
        raise ValueError(f"name: no packaged policy {name!r}{hint}")
    relative = f"{name}.toml" if name == DEFAULT_POLICY_NAME else f"{_ALTERNATIVES}/{name}.toml"
    text = resources.files(_PACKAGE).joinpath(*relative.split("/")).read_text(encoding="utf-8")
    return load_policy_text(text, source=relative)


# --- validation and its messages -----------------------------------------------------------


def _validate(data: Mapping[str, Any], *, source: str, lines: Mapping[str, int]) -> Policy:
    try:
        return Policy.model_validate(_arrays_as_tuples(data))
    except ValidationError as error:
        problems = [_problem(detail, lines) for detail in error.errors(include_url=False)]
        raise PolicyError(source, _without_echoes(problems)) from None


def _without_echoes(problems: list[PolicyProblem]) -> list[PolicyProblem]:
    # A misspelt key also leaves the right key missing; "did you mean" already says so.
    suggested = {
        f"{problem.path.rpartition('.')[0]}.{problem.suggestion}".lstrip(".")
        for problem in problems
        if problem.kind == "unknown_key" and problem.suggestion is not None
    }
    return [p for p in problems if not (p.kind == "missing_key" and p.path in suggested)]


def _arrays_as_tuples(value: Any) -> Any:
    # The rules are frozen, so arrays become tuples; the models are strict and take only tuples.
    if isinstance(value, Mapping):
        return {key: _arrays_as_tuples(inner) for key, inner in value.items()}
    if isinstance(value, list | tuple):
        return tuple(_arrays_as_tuples(inner) for inner in value)
    return value


_EXPECTED = {
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "string_type": "a string in quotes",
    "date_type": "a date written bare, like 2022-11-11",
    "tuple_type": "an array, like [1, 2]",
    "list_type": "an array, like [1, 2]",
    "model_type": "a table",
    "dict_type": "a table",
    "model_attributes_type": "a table",
}
_CONSTRAINTS: tuple[tuple[str, type[annotated_types.BaseMetadata]], ...] = (
    ("ge", annotated_types.Ge),
    ("gt", annotated_types.Gt),
    ("le", annotated_types.Le),
    ("lt", annotated_types.Lt),
)
_BOUNDS = {
    "greater_than_equal": "ge",
    "greater_than": "gt",
    "less_than_equal": "le",
    "less_than": "lt",
}


def _problem(detail: ErrorDetails, lines: Mapping[str, int]) -> PolicyProblem:
    loc = tuple(detail["loc"])
    path = _dotted(loc)
    line = _line_of(loc, lines)
    kind_of_error = detail["type"]
    given = detail.get("input")
    ctx = detail.get("ctx") or {}

    if kind_of_error == "extra_forbidden":
        close = _closest(loc[-1], _known_keys(loc[:-1]))
        return PolicyProblem(
            path=path,
            reason=f"unknown key{_did_you_mean(close)}",
            line=line,
            kind="unknown_key",
            suggestion=close,
        )
    if kind_of_error == "missing":
        what = "table" if _model_at(loc) is not None else "key"
        if loc and isinstance(loc[-1], int):
            what = "item"
        return PolicyProblem(path=path, reason=f"missing {what}", line=line, kind="missing_key")
    if kind_of_error in _EXPECTED:
        reason = f"expected {_EXPECTED[kind_of_error]} (got {_describe(given)})"
        return PolicyProblem(path=path, reason=reason, line=line, kind="wrong_type")
    if kind_of_error == "wrong_type":
        reason = f"expected {ctx['expected']} (got {_describe(given)})"
        return PolicyProblem(path=path, reason=reason, line=line, kind="wrong_type")
    if kind_of_error == "literal_error":
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        close = _closest(given, choices) if isinstance(given, str) else None
        reason = (
            f"must be one of {ctx.get('expected')} (got {_describe(given)}){_did_you_mean(close)}"
        )
        return PolicyProblem(path=path, reason=reason, line=line, suggestion=close)
    if kind_of_error in _BOUNDS:
        return PolicyProblem(path=path, reason=_range_reason(loc, ctx, given), line=line)
    if kind_of_error in {"value_error", "assertion_error"}:
        return PolicyProblem(path=path, reason=str(ctx.get("error", detail["msg"])), line=line)
    if kind_of_error in {"too_short", "too_long"}:
        reason = f"{_length_reason(kind_of_error, ctx)} (got {_describe(given)})"
        return PolicyProblem(path=path, reason=reason, line=line)
    if kind_of_error == "string_too_short":
        return PolicyProblem(path=path, reason="must not be empty", line=line)
    if kind_of_error == "string_pattern_mismatch":
        reason = (
            "must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit "
            f"(got {_describe(given)})"
        )
        return PolicyProblem(path=path, reason=reason, line=line)
    message = detail["msg"]
    return PolicyProblem(path=path, reason=f"{message[:1].lower()}{message[1:]}", line=line)


def _dotted(loc: Sequence[int | str]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def _model_at(loc: Sequence[int | str]) -> type[BaseModel] | None:
    """The rules model found at `loc` from `Policy`, when `loc` names a table."""
    model: type[BaseModel] = Policy
    for part in loc:
        if not isinstance(part, str) or part not in model.model_fields:
            return None
        annotation = model.model_fields[part].annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def _field_at(loc: Sequence[int | str]) -> FieldInfo | None:
    if not loc or not isinstance(loc[-1], str):
        return None
    model = _model_at(loc[:-1])
    return None if model is None else model.model_fields.get(loc[-1])


def _known_keys(loc: Sequence[int | str]) -> list[str]:
    model = _model_at(loc)
    return [] if model is None else list(model.model_fields)


def _closest(word: object, choices: Sequence[str]) -> str | None:
    close = difflib.get_close_matches(str(word), choices, n=1, cutoff=0.6)
    return close[0] if close else None


def _did_you_mean(close: str | None) -> str:
    return f" (did you mean {close!r}?)" if close is not None else ""


def _range_reason(loc: Sequence[int | str], ctx: Mapping[str, Any], given: object) -> str:
    # Name both ends of a range when the field has both, whichever end was crossed.
    bounds: dict[str, object] = {key: ctx[key] for key in ("ge", "gt", "le", "lt") if key in ctx}
    field = _field_at(loc)
    if field is not None:
        for constraint in field.metadata:
            for name, kind in _CONSTRAINTS:
                if isinstance(constraint, kind):
                    bounds.setdefault(name, getattr(constraint, name))
    got = f" (got {_describe(given)})"
    if "ge" in bounds and "le" in bounds:
        return f"must be between {bounds['ge']} and {bounds['le']}{got}"
    words = {"ge": "at least", "gt": "greater than", "le": "at most", "lt": "less than"}
    said = [f"{words[name]} {bounds[name]}" for name in ("ge", "gt", "le", "lt") if name in bounds]
    return f"must be {' and '.join(said)}{got}"


def _length_reason(kind_of_error: str, ctx: Mapping[str, Any]) -> str:
    if kind_of_error == "too_short":
        return f"must have at least {ctx.get('min_length')} item(s)"
    return f"must have at most {ctx.get('max_length')} item(s)"


def _describe(value: object) -> str:
    """A value as the policy file would spell it, with its TOML type."""
    if isinstance(value, bool):
        return f"boolean {'true' if value else 'false'}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"float {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else f"{value[:37]}..."
        return f"string {shown!r}"
    if isinstance(value, datetime):
        return f"date-time {value.isoformat()}"
    if isinstance(value, date):
        return f"date {value.isoformat()}"
    if isinstance(value, list | tuple):
        shown = ", ".join(_describe(item).split(" ", 1)[-1] for item in value[:6])
        return f"array [{shown}{', ...' if len(value) > 6 else ''}]"
    if isinstance(value, Mapping):
        return "a table"
    return type(value).__name__


# --- where a key is written ----------------------------------------------------------------

_ARRAY_TABLE = re.compile(r"^\[\[\s*(?P<key>[^\[\]]+?)\s*\]\]\s*(?:#.*)?$")
_TABLE = re.compile(r"^\[\s*(?P<key>[^\[\]]+?)\s*\]\s*(?:#.*)?$")
_KEY_PART = re.compile(r'"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|([A-Za-z0-9_-]+)')
_SYNTAX_LINE = re.compile(r"at line (\d+)")


def _key_lines(text: str) -> dict[str, int]:
    """The line on which each dotted key (and table) of a TOML text is first written.

    A small scan rather than a parser: good enough to point at a line, and never used to read
    values (tomllib does that).
    """
    found: dict[str, int] = {}
    table: tuple[str, ...] = ()
    open_brackets = 0
    open_string: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if open_string is not None:
            if line.count(open_string) % 2 == 1:
                open_string = None
            continue
        if open_brackets > 0:
            open_brackets += _bracket_balance(line)
            continue
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        header = _ARRAY_TABLE.match(stripped) or _TABLE.match(stripped)
        if header is not None:
            table = _key_parts(header.group("key"))
            found.setdefault(".".join(table), number)
            continue
        equals = _assignment_split(stripped)
        if equals is None:
            continue
        key, value = stripped[:equals], stripped[equals + 1 :]
        found.setdefault(".".join((*table, *_key_parts(key))), number)
        for quotes in ('"""', "'''"):
            if value.lstrip().startswith(quotes) and value.count(quotes) == 1:
                open_string = quotes
        if open_string is None:
            open_brackets = max(_bracket_balance(value), 0)
    return found


def _key_parts(key: str) -> tuple[str, ...]:
    parts: list[str] = []
    for match in _KEY_PART.finditer(key):
        double_quoted, single_quoted, bare = match.groups()
        parts.append(
            next(part for part in (double_quoted, single_quoted, bare, "") if part is not None)
        )
    return tuple(parts)


def _assignment_split(line: str) -> int | None:
    quote: str | None = None
    for index, char in enumerate(line):
        if quote is not None:
            if char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "=":
            return index
        elif char == "#":
            return None
    return None


def _bracket_balance(text: str) -> int:
    balance = 0
    quote: str | None = None
    escaped = False
    for char in text:
        if quote is not None:
            if escaped:
                escaped = False
            elif char == "\\" and quote == '"':
                escaped = True
            elif char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "#":
            break
        elif char in "[{":
            balance += 1
        elif char in "]}":
            balance -= 1
    return balance


def _line_of(loc: Sequence[int | str], lines: Mapping[str, int]) -> int | None:
    # Only the leading run of keys names a place in the file; an array index ends it.
    leading: list[str] = []
    for part in loc:
        if not isinstance(part, str):
            break
        leading.append(part)
    for length in range(len(leading), 0, -1):
        line = lines.get(".".join(leading[:length]))
        if line is not None:
            return line
    return None


def _syntax_problem(error: tomllib.TOMLDecodeError, text: str) -> PolicyProblem:
    message = str(error)
    match = _SYNTAX_LINE.search(message)
    if match is not None:
        line: int | None = int(match.group(1))
    elif "end of document" in message:
        line = max(len(text.splitlines()), 1)
    else:
        line = None
    return PolicyProblem(path="", reason=f"not valid TOML: {message}", line=line, kind="syntax")
