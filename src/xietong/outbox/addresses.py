"""Where a webhook may be sent: only to public addresses, checked when the endpoint is registered
and again after DNS resolution at each delivery (a name may resolve elsewhere later), unless the
deployment allow-lists a network for an on-premise receiver (`XIETONG_WEBHOOK_ALLOWED_NETWORKS`)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from xietong.core.errors import DomainError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# host, port -> the addresses it resolves to (socket.getaddrinfo by default; tests pass a table).
Resolver = Callable[[str, int], list[str]]


class WebhookTargetRefused(DomainError):
    status_code = 422
    code = "webhook_target_refused"


@dataclass(frozen=True)
class Target:
    """A checked webhook target: the URL's host and port and the address to connect to."""

    scheme: str
    host: str
    port: int
    address: IPAddress


def parse_networks(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    """The allow-list setting as networks ("10.2.0.0/16", "192.0.2.7")."""
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip())


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def refusal(address: IPAddress, allowed: Sequence[IPNetwork]) -> str | None:
    """Why `address` may not receive webhooks (None: it may)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address.version == net.version and address in net for net in allowed):
        return None
    for kind, flag in (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("unspecified", address.is_unspecified),
        ("reserved", address.is_reserved),
    ):
        if flag:
            return f"{kind} address {address}"
    if not address.is_global:
        return f"non-public address {address}"
    return None


def check_url(
    url: str,
    *,
    allowed: Sequence[IPNetwork] = (),
    resolve: Resolver = system_resolver,
) -> Target:
    """The target of `url` if every address its host resolves to may receive webhooks, or
    WebhookTargetRefused naming the reason (no connection is ever made here)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookTargetRefused(f"{url!r} is not an http(s) address", details=_detail(url))
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise WebhookTargetRefused(f"{url!r} has a bad port", details=_detail(url)) from exc
    host = parts.hostname
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            addresses = [ipaddress.ip_address(a.split("%")[0]) for a in resolve(host, port)]
        except OSError as exc:
            raise WebhookTargetRefused(
                f"{host!r} does not resolve", details=_detail(url, "does not resolve")
            ) from exc
    if not addresses:
        raise WebhookTargetRefused(f"{host!r} does not resolve", details=_detail(url))
    for address in addresses:
        reason = refusal(address, allowed)
        if reason is not None:
            raise WebhookTargetRefused(
                f"webhooks may not be sent to {host!r}: {reason}", details=_detail(url, reason)
            )
    return Target(scheme=parts.scheme, host=host, port=port, address=addresses[0])


def _detail(url: str, reason: str = "not a public http(s) address") -> list[dict[str, str]]:
    return [{"record": "endpoint", "field": "url", "reason": reason, "value": url[:200]}]
