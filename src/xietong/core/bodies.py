"""Large JSON bodies (a laboratory's batch of results, a site's tubes) read on the event loop but
parsed and validated in the thread pool with the rest of the route, so that a 200,000-row batch
never stalls the live streams that share the loop.

A route takes `body: RawBody`, calls `parse_body(Model, body)` (the API's, which adds the input
guards' bounds), and documents its body with `openapi_extra=documented_body(Model)`. Errors keep
FastAPI's shape (`loc` starts with "body").
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)
# The errors (FastAPI's shape) a parsed JSON document breaks besides its model's own rules.
Check = Callable[[Any], list[dict[str, Any]]]


async def _raw_body(request: Request) -> bytes:
    return await request.body()


RawBody = Annotated[bytes, Depends(_raw_body)]


def parse_body(model: type[Model], body: bytes, *, check: Check | None = None) -> Model:
    """Validate a JSON body as `model` (after `check`); a bad one is the same 422 as a declared
    body's."""
    if check is not None:
        try:
            document = json.loads(body)
        except ValueError:
            document = None  # the model's validation names what is malformed
        errors = check(document) if document is not None else []
        if errors:
            raise RequestValidationError(errors)
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)]
        ) from None


def _inline(node: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        reference = node.get("$ref")
        if isinstance(reference, str) and reference.startswith("#/$defs/"):
            return _inline(definitions[reference.removeprefix("#/$defs/")], definitions)
        return {k: _inline(v, definitions) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline(v, definitions) for v in node]
    return node


def documented_body(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI request body of a route that parses `model` itself."""
    schema = model.model_json_schema()
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _inline(schema, schema.get("$defs", {}))}},
        }
    }
