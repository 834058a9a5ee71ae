"""Request body limits, answered 413 before the body is read: from Content-Length when it is
declared, and while streaming when it is not (or lies). Files (multipart forms, CSV and other
uploads) have their own, larger limit than JSON and forms."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_FILE_TYPES = ("multipart/form-data", "text/csv", "application/octet-stream", "text/plain")


def _too_large(limit: int) -> tuple[dict[str, Any], bytes]:
    body = json.dumps(
        {
            "error": {
                "code": "body_too_large",
                "message": f"the request body is larger than the limit of {limit:,} bytes",
            }
        }
    ).encode()
    start = {
        "type": "http.response.start",
        "status": 413,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ],
    }
    return start, body


class BodyLimit:
    """ASGI middleware enforcing `json_bytes` on JSON and forms and `file_bytes` on uploads."""

    def __init__(self, app: ASGIApp, *, json_bytes: int, file_bytes: int) -> None:
        self.app = app
        self.json_bytes = json_bytes
        self.file_bytes = file_bytes

    def limit_for(self, content_type: str) -> int:
        return self.file_bytes if content_type.startswith(_FILE_TYPES) else self.json_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        limit = self.limit_for(headers.get(b"content-type", b"").decode("latin-1").lower())
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(send, limit)
            return
        received = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    # The rest of the body is never read; the handler sees a disconnect.
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                # Whatever the handler made of the cut body, the answer is 413.
                if not started:
                    started = True
                    await self._refuse(send, limit)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not exceeded:
                raise
            if not started:
                await self._refuse(send, limit)

    @staticmethod
    async def _refuse(send: Send, limit: int) -> None:
        start, body = _too_large(limit)
        await send(start)
        await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    """Headers every answer carries: nothing with personal data is cached (`no-store` unless the
    route chose its own caching, as static files do), no content sniffing, no referrer leaving
    the site, and HSTS when the request came over TLS."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tls = scope.get("scheme") == "https"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                if b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"referrer-policy", b"same-origin"))
                if tls:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
