"""Read-your-writes across the primary and the read replica: a write's answer carries the
primary's WAL position (header and cookie), a read's answer says where it was read."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from xietong.storage.replica import READ_FROM, WRITTEN_COOKIE, WRITTEN_LSN


def install_read_your_writes(app: FastAPI) -> None:
    @app.middleware("http")
    async def carry_positions(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        written = getattr(request.state, "written_lsn", None)
        if written is not None:
            response.headers[WRITTEN_LSN] = written
            # Browsers send it back by themselves; a minute is far past any sane replica lag.
            response.set_cookie(WRITTEN_COOKIE, written, max_age=60, httponly=True, samesite="lax")
        read_from = getattr(request.state, "read_from", None)
        if read_from is not None:
            response.headers[READ_FROM] = read_from
        return response
