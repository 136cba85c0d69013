"""Which URLs a crawl may fetch: http(s) only, and never a private, loopback, link-local or reserved address
unless that host is explicitly allowed, so a crawler cannot be turned against the machine it runs on or its
network (a page linking to http://127.0.0.1:8000/admin, http://169.254.169.254/ or file:///etc/passwd)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

SCHEMES = ("http", "https")
ANY_HOST = "*"


def _resolve(host: str) -> list[str]:
    return sorted({info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)})


def is_local_address(address: str) -> bool:
    """True for an address a public crawl must not reach: private, loopback, link-local, reserved, multicast,
    unspecified (IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry)."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast or ip.is_unspecified


class UrlGuard:
    """`refusal(url)`: None when the crawl may fetch `url`, else the reason it may not.

    `allow_private` names the hosts (exactly as written in URLs, e.g. "127.0.0.1") that may be private or
    local; "*" allows every host. Host names are resolved (once per host) and refused when any address is
    local. The check runs before a request is sent, so a host whose DNS answer changes between the check and
    the connection (DNS rebinding) is not covered.
    """

    def __init__(self, allow_private: Iterable[str] = (), resolve: Callable[[str], list[str]] = _resolve) -> None:
        self.allow_private = frozenset(h.lower().strip("[]") for h in allow_private)
        self.resolve = resolve
        self._cache: dict[str, str | None] = {}

    def refusal(self, url: str) -> str | None:
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
        except ValueError:
            return "malformed URL"
        if parts.scheme.lower() not in SCHEMES:
            return f"unsupported scheme ({parts.scheme or 'none'})"
        if not host:
            return "malformed URL (no host)"
        if ANY_HOST in self.allow_private or host in self.allow_private:
            return None
        if host not in self._cache:
            self._cache[host] = self._check_host(host)
        return self._cache[host]

    def _check_host(self, host: str) -> str | None:
        try:
            addresses = [str(ipaddress.ip_address(host))]
        except ValueError:
            try:
                addresses = self.resolve(host)
            except (OSError, UnicodeError):  # unresolvable: the download reports it
                return None
        local = [a for a in addresses if is_local_address(a)]
        if local:
            shown = host if local == [host] else f"{host} → {local[0]}"
            return f"private or local address ({shown}; allow it with --allow-private {host})"
        return None
