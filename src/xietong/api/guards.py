"""Input bounds every route gets, whatever its own declarations: integers within 64 bits (ids,
offsets, limits and any number in a JSON body), dates within a sane window (only where a field is
typed as a date), and no NUL characters anywhere. A breach answers 422 naming the field, before
the route runs, so that no value reaches the database that one of the backends would choke on."""

from __future__ import annotations

import json
import re
import types
from collections.abc import Iterator
from datetime import date, datetime
from typing import Annotated, Any, Union, get_args, get_origin

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# Record ids are 32-bit integers on PostgreSQL (a larger one is an error there, not a miss).
ID_MAX = 2**31 - 1
# The earliest birth date and the latest planning horizon the system has any use for.
EARLIEST_YEAR, LATEST_YEAR = 1900, 2100

Loc = tuple[str | int, ...]
_INTEGER = re.compile(r"\s*[+-]?[0-9]+\s*", re.ASCII)
# Paging parameters: a negative one is an error on PostgreSQL, so it is refused everywhere.
_COUNTS = frozenset({"limit", "offset"})


def _is_id(loc: Loc) -> bool:
    """Whether the value at `loc` names a record: `id`, `*_id`, or an item of `*_ids`."""
    names = [part for part in loc if isinstance(part, str)]
    name = names[-1] if names else ""
    return name == "id" or name.endswith(("_id", "_ids"))


def _error(loc: Loc, message: str, kind: str) -> dict[str, Any]:
    return {"loc": loc, "msg": message, "type": kind}


def _members(annotation: Any) -> Iterator[Any]:
    """The types an annotation may hold: through Annotated, Optional/Union and containers."""
    origin = get_origin(annotation)
    if origin is Annotated:
        yield from _members(get_args(annotation)[0])
    elif origin in (Union, types.UnionType):
        for arg in get_args(annotation):
            yield from _members(arg)
    else:
        yield annotation


def _is_date_typed(annotation: Any) -> bool:
    return any(m in (date, datetime) for m in _members(_item_or_self(annotation)))


def _is_int_typed(annotation: Any) -> bool:
    return any(m is int for m in _members(_item_or_self(annotation)))


def _year_of(value: str) -> int | None:
    text = value.strip()
    for parse in (date.fromisoformat, datetime.fromisoformat):
        try:
            return parse(text.replace("Z", "+00:00")).year
        except ValueError:
            continue
    return None


def _nul(value: str, loc: Loc, errors: list[dict[str, Any]]) -> bool:
    if "\x00" in value:
        errors.append(_error(loc, "must not contain a NUL character", "nul_character"))
        return True
    return False


def check_text(value: str, *, loc: Loc, annotation: Any, errors: list[dict[str, Any]]) -> None:
    """Check one value as it came in a path or a query string, by its parameter's type."""
    if _nul(value, loc, errors):
        return
    if _is_date_typed(annotation):
        _check_year(value, loc=loc, errors=errors)
    elif _is_int_typed(annotation):
        # What parses as a whole number: ASCII digits and one sign (not "³", which `isdigit`
        # accepts, nor "+-5"); anything else is left to the route's own validation.
        if _INTEGER.fullmatch(value) is None:
            return
        digits = value.strip().lstrip("+-")
        if len(digits) > 19 or not INT64_MIN <= int(value) <= INT64_MAX:
            errors.append(_error(loc, "must fit in 64 bits", "int_out_of_range"))
        elif _is_id(loc) and not -ID_MAX <= int(value) <= ID_MAX:
            errors.append(_error(loc, f"no record has an id past {ID_MAX:,}", "id_out_of_range"))
        elif loc[-1] in _COUNTS and int(value) < 0:
            errors.append(_error(loc, "must not be negative", "negative"))


def _check_year(value: str, *, loc: Loc, errors: list[dict[str, Any]]) -> None:
    year = _year_of(value)
    if year is not None and not EARLIEST_YEAR <= year <= LATEST_YEAR:
        errors.append(
            _error(
                loc,
                f"must be a date between {EARLIEST_YEAR} and {LATEST_YEAR}",
                "date_out_of_range",
            )
        )


def _model_of(annotation: Any) -> type[BaseModel] | None:
    for member in _members(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel):
            return member
    return None


def _item_annotation(annotation: Any) -> Any:
    for member in _members(annotation):
        origin = get_origin(member)
        if origin in (list, tuple, set, frozenset):
            items = [a for a in get_args(member) if a is not Ellipsis]
            return items[0] if items else Any
        if origin is dict:
            args = get_args(member)
            return args[1] if len(args) == 2 else Any
    return Any


def check_json(value: Any, annotation: Any, *, loc: Loc, errors: list[dict[str, Any]]) -> None:
    """Walk a JSON body along its model's annotations (dates are checked where typed as dates)."""
    if isinstance(value, dict):
        model = _model_of(annotation)
        fields = {}
        if model is not None:
            for name, info in model.model_fields.items():
                fields[info.alias or name] = info.annotation
                fields[name] = info.annotation
        item = _item_annotation(annotation)
        for key, inner in value.items():
            if "\x00" in key:
                errors.append(_error((*loc, key), "must not contain a NUL character", "nul"))
            check_json(inner, fields.get(key, item), loc=(*loc, key), errors=errors)
    elif isinstance(value, list):
        item = _item_annotation(annotation)
        for index, inner in enumerate(value):
            check_json(inner, item, loc=(*loc, index), errors=errors)
    elif isinstance(value, str):
        if not _nul(value, loc, errors) and _is_date_typed(annotation):
            _check_year(value, loc=loc, errors=errors)
    elif (
        isinstance(value, int)
        and not isinstance(value, bool)
        and not INT64_MIN <= value <= INT64_MAX
    ):
        errors.append(_error(loc, "must fit in 64 bits", "int_out_of_range"))
    elif (
        isinstance(value, int)
        and not isinstance(value, bool)
        and _is_id(loc)
        and not -ID_MAX <= value <= ID_MAX
    ):
        errors.append(_error(loc, f"no record has an id past {ID_MAX:,}", "id_out_of_range"))


def _parameters(route: APIRoute) -> Iterator[tuple[str, str, Any]]:
    """(where, name, annotation) of every path and query parameter of a route and its
    dependencies."""
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        for where, fields in (("path", dependant.path_params), ("query", dependant.query_params)):
            for field in fields:
                model = _model_of(field.field_info.annotation)
                if model is None:
                    yield where, field.alias, field.field_info.annotation
                    continue
                # A model of parameters (`?limit=&offset=` as one `PageParams`): its fields.
                for name, info in model.model_fields.items():
                    yield where, info.alias or name, info.annotation
        pending.extend(dependant.dependencies)


async def guard_input(request: Request) -> None:
    """Refuse (422) out-of-range integers and dates and NUL characters in any input."""
    errors: list[dict[str, Any]] = []
    route = request.scope.get("route")
    typed: dict[tuple[str, str], Any] = {}
    if isinstance(route, APIRoute):
        typed = {(where, name): annotation for where, name, annotation in _parameters(route)}
    for name, value in request.path_params.items():
        if isinstance(value, str):
            check_text(
                value, loc=("path", name), annotation=typed.get(("path", name)), errors=errors
            )
    for name, value in request.query_params.multi_items():
        if not _nul(name, ("query",), errors):
            check_text(
                value, loc=("query", name), annotation=typed.get(("query", name)), errors=errors
            )
    if isinstance(route, APIRoute) and route.body_field is not None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("application/json"):
            try:
                body = json.loads(await request.body())
            except ValueError:
                body = None  # FastAPI answers a malformed body itself
            if body is not None:
                check_json(
                    body, route.body_field.field_info.annotation, loc=("body",), errors=errors
                )
    if errors:
        raise RequestValidationError(errors)


def _item_or_self(annotation: Any) -> Any:
    item = _item_annotation(annotation)
    return annotation if item is Any else item
