"""Where a callback may go: the URL's host resolved, and every address it names checked.

Loopback, private, link-local (the cloud metadata service at 169.254.169.254 among them),
shared, multicast, reserved and unspecified addresses are refused unless a network of
``CALLBACK_ALLOWED_NETWORKS`` holds them. Checked at POST and again before each attempt
(the name may resolve elsewhere by then: DNS rebinding), and the attempt connects to the
very address that was checked.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeCallbackError(ValueError):
    """The callback URL does not resolve, or resolves to an address that is not allowed."""


def allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    raw = str(settings.ASYNC_REST["CALLBACK_ALLOWED_NETWORKS"])
    return [ipaddress.ip_network(item, strict=False) for item in raw.replace(",", " ").split()]


def is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is loopback too
    return address.is_global and not address.is_multicast


def resolve(url: str) -> list[IPAddress]:
    """The addresses the URL's host names, every one of them allowed (UnsafeCallbackError)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeCallbackError("callback.url is not a valid URL.") from None
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError) as exc:
        raise UnsafeCallbackError(
            f"callback.url's host {host!r} does not resolve ({exc})."
        ) from None
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    allowed = allowed_networks()
    for address in addresses:
        if not is_public(address) and not any(address in net for net in allowed):
            raise UnsafeCallbackError(
                f"callback.url's host {host!r} resolves to {address}, a loopback, private, "
                "link-local or reserved address."
            )
    if not addresses:
        raise UnsafeCallbackError(f"callback.url's host {host!r} does not resolve.")
    return addresses
