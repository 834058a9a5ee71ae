"""The OpenAPI document with every error a route can answer: the statuses the shared layers give
(input guard, body limit, authentication, domain errors) documented on each operation with the one
error body all of them use, so that a client, or a fuzzer, can check an answer against it."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field

_STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_DESCRIPTIONS = {
    400: "The request breaks a rule of the domain",
    401: "No valid token or session (missing, expired, revoked or of a deactivated user)",
    403: "The caller's role or jurisdiction does not allow this",
    404: "No such record, or none the caller may see",
    409: "The change conflicts with the record's state",
    413: "The body is larger than the limit (answered before it is read)",
    422: "The input is not valid; every bad field is named",
}


class ErrorInfo(BaseModel):
    code: str = Field(description="Stable machine code, e.g. `not_found`, `validation_failed`")
    message: str = Field(description="What went wrong, for a person")
    details: Any = Field(
        default=None,
        description="For refused input: a list of {record, field, reason[, value]}; capped, "
        "with the count in the message",
    )


class ErrorBody(BaseModel):
    """Every error the API answers has this body."""

    error: ErrorInfo


def error_statuses(method: str, operation: dict[str, Any]) -> list[int]:
    """The error statuses an operation may answer, from its document: any may break a domain
    rule, miss its record or be refused by the input guard; one behind a login may be refused
    it; a change may conflict; a body may be too large."""
    statuses = [400, 404, 422]
    if operation.get("security"):
        statuses += [401, 403]
    if method.upper() in _STATE_CHANGING:
        statuses.append(409)
    if "requestBody" in operation:
        statuses.append(413)
    return sorted(statuses)


def _error_response(status: int) -> dict[str, Any]:
    return {
        "description": _DESCRIPTIONS[status],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }


def _is_fastapi_validation(response: dict[str, Any]) -> bool:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return bool(schema.get("$ref", "").endswith("/HTTPValidationError"))


def document_errors(app: FastAPI) -> None:
    """Make `app.openapi()` list each operation's error statuses with the shared error body."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        components = document.setdefault("components", {}).setdefault("schemas", {})
        components.update(
            ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}").pop(
                "$defs", {}
            )
        )
        components["ErrorBody"] = ErrorBody.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        components["ErrorBody"].pop("$defs", None)
        # FastAPI's own validation body is never sent: our handler answers with ErrorBody.
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        for path_item in document.get("paths", {}).values():
            for method, operation in path_item.items():
                responses = operation.setdefault("responses", {})
                for status in error_statuses(method, operation):
                    declared = responses.get(str(status))
                    if declared is None or _is_fastapi_validation(declared):
                        responses[str(status)] = _error_response(status)
                    else:
                        # A route's own error (a FHIR OperationOutcome) keeps its type; the
                        # shared layers may still answer the same status with the error body.
                        declared.setdefault("content", {}).setdefault(
                            "application/json",
                            _error_response(status)["content"]["application/json"],
                        )
                operation["responses"] = dict(sorted(responses.items()))
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
