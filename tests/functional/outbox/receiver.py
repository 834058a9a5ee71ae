"""A district's webhook receiver for tests: a real HTTP server in a thread that checks each
signature with the shared secret (plain hmac, independent of the code under test), keeps every
request, deduplicates on the idempotency key, and can be told to fail the next requests."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    key: str
    topic: str
    attempt: int
    signature_valid: bool
    body: dict[str, Any]


@dataclass
class Receiver:
    secret: str
    fail_next: int = 0
    fail_always: bool = False
    requests: list[Received] = field(default_factory=list)
    processed: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def counts(self) -> Counter[str]:
        with self.lock:
            return Counter(r.key for r in self.requests)

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                timestamp = self.headers.get("X-Xietong-Timestamp", "")
                mac = hmac.new(
                    receiver.secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
                )
                valid = (
                    hmac.compare_digest(
                        "v1=" + mac.hexdigest(), self.headers.get("X-Xietong-Signature", "")
                    )
                    and abs(time.time() - int(timestamp or 0)) < 300
                )
                key = self.headers.get("Idempotency-Key", "")
                with receiver.lock:
                    failing = receiver.fail_always or receiver.fail_next > 0
                    if receiver.fail_next > 0:
                        receiver.fail_next -= 1
                    receiver.requests.append(
                        Received(
                            key=key,
                            topic=self.headers.get("X-Xietong-Topic", ""),
                            attempt=int(self.headers.get("X-Xietong-Attempt", "0")),
                            signature_valid=valid,
                            body=json.loads(body),
                        )
                    )
                    if valid and not failing:
                        # Deduplicate: a repeated delivery is acknowledged, not processed again.
                        receiver.processed.setdefault(key, json.loads(body))
                status = 500 if failing else (200 if valid else 401)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
