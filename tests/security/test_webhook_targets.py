"""Webhooks cannot be aimed inward: loopback, private, link-local, multicast and reserved targets
are refused at registration and after resolution at each delivery, and a receiver's answer is
never kept. No test connects anywhere but 127.0.0.1; refusals happen before any connection."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.auth import command_user, district_user
from xietong.outbox.addresses import WebhookTargetRefused, check_url, parse_networks
from xietong.outbox.dispatcher import HttpWebhookSender

INWARD = [
    "http://127.0.0.1/hook",
    "http://127.5.6.7:8080/hook",
    "http://localhost/hook",
    "http://[::1]/hook",
    "http://10.1.2.3/hook",  # no connection
    "http://172.16.0.9/hook",  # no connection
    "http://192.168.1.1/hook",  # no connection
    "http://169.254.169.254/latest/meta-data/",  # no connection
    "http://[fe80::1]/hook",
    "http://[fc00::5]/hook",
    "http://[::ffff:10.0.0.1]/hook",
    "http://224.0.0.1/hook",
    "http://0.0.0.0/hook",
    "http://240.0.0.1/hook",
    "http://100.64.0.1/hook",  # no connection
    "ftp://203.0.113.9/hook",
]


def _no_dns(host: str, port: int) -> list[str]:
    raise AssertionError(f"no name may be resolved here ({host})")


@pytest.mark.parametrize("url", INWARD)
def test_the_address_check_refuses_inward_targets(url: str) -> None:
    def local_names(host: str, port: int) -> list[str]:
        assert host == "localhost"
        return ["127.0.0.1", "::1"]

    with pytest.raises(WebhookTargetRefused):
        check_url(url, resolve=local_names)


def test_a_public_address_passes_and_the_allow_list_admits_an_on_premise_receiver() -> None:
    assert str(check_url("https://8.8.8.8/hook", resolve=_no_dns).address) == "8.8.8.8"
    allowed = parse_networks(["10.20.0.0/16"])
    allowed_url = "http://10.20.3.4:9000/x"  # no connection
    assert check_url(allowed_url, allowed=allowed, resolve=_no_dns).port == 9000
    with pytest.raises(WebhookTargetRefused):
        check_url("http://10.21.3.4/x", allowed=allowed, resolve=_no_dns)  # no connection


def test_a_name_is_refused_when_any_of_its_addresses_is_inward() -> None:
    def rebinding(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "169.254.169.254"]

    with pytest.raises(WebhookTargetRefused) as refused:
        check_url("https://hooks.example.org/x", resolve=rebinding)
    assert "link-local" in refused.value.message


@pytest.mark.parametrize(
    "url",
    ["http://10.1.2.3/hook", "http://169.254.169.254/", "http://[::1]/"],  # no connection
)
def test_registration_refuses_inward_targets(
    app_client: TestClient, session: Session, url: str
) -> None:
    _, token = district_user(session, "500108")
    answer = app_client.post(
        "/api/outbox/endpoints", json={"url": url}, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "webhook_target_refused"


def test_changing_an_endpoint_to_an_inward_target_is_refused(
    app_client: TestClient, session: Session
) -> None:
    _, token = command_user(session)
    headers = {"Authorization": f"Bearer {token}"}
    created = app_client.post(
        "/api/outbox/endpoints", json={"url": "https://93.184.216.34/hook"}, headers=headers
    )
    assert created.status_code == 201, created.text
    changed = app_client.patch(
        f"/api/outbox/endpoints/{created.json()['id']}",
        json={"url": "http://192.168.0.1/admin"},  # no connection
        headers=headers,
    )
    assert changed.status_code == 422


class _Loud(BaseHTTPRequestHandler):
    """A receiver that fails with a body that must never be stored, and notes the Host header."""

    hosts: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        _Loud.hosts.append(self.headers.get("Host", ""))
        body = b"root:x:0:0:secret answer from an inward service"
        self.send_response(500)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def loud_receiver() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Loud)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def test_delivery_checks_again_after_resolution_and_connects_to_the_checked_address(
    loud_receiver: int,
) -> None:
    _Loud.hosts.clear()
    port = loud_receiver

    def table(host: str, _port: int) -> list[str]:
        return {"receiver.example": ["127.0.0.1"]}[host]

    url = f"http://receiver.example:{port}/hook"
    refused = HttpWebhookSender(resolve=table).send(url=url, body=b"{}", headers={})
    assert refused.error == "WebhookTargetRefused" and refused.status_code is None
    assert _Loud.hosts == []  # refused before any connection
    allowed = HttpWebhookSender(allowed_networks=parse_networks(["127.0.0.1"]), resolve=table)
    failed = allowed.send(url=url, body=b"{}", headers={})
    allowed.close()
    assert _Loud.hosts == [f"receiver.example:{port}"]
    # The status is kept; the answer's body (what an inward request fetched) is not.
    assert failed.status_code == 500 and failed.error == "HTTP 500"
