"""Errors as JSON with a machine code and a human message, for every failure the API returns."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from xietong.core.errors import DomainError


def _body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if details is not None:
        body["error"]["details"] = details
    return body


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return JSONResponse(
            _body(exc.code, exc.message, exc.details), status_code=exc.status_code, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def request_invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {
                "record": "request",
                "field": ".".join(str(p) for p in err.get("loc", ())),
                "reason": err.get("msg", "invalid"),
            }
            for err in exc.errors()
        ]
        return JSONResponse(
            _body("validation_failed", "the request is not valid", details), status_code=422
        )

    @app.exception_handler(DataError)
    async def value_refused_by_database(_request: Request, exc: DataError) -> JSONResponse:
        # The last line of the input bounds: a number past an integer column's range, which
        # PostgreSQL refuses (SQLite stores it). The unit of work has already rolled back.
        reason = str(exc.orig).splitlines()[0] if exc.orig is not None else "out of range"
        details = [{"record": "request", "field": "value", "reason": reason}]
        return JSONResponse(
            _body("value_out_of_range", "a value is outside what can be stored", details),
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(_body(code, str(exc.detail)), status_code=exc.status_code)
