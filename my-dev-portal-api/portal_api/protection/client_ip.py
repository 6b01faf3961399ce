"""The client's IP address of a request: the peer, or X-Forwarded-For when the peer is a trusted proxy.

X-Forwarded-For is believed only when the connection comes from one of TRUSTED_PROXIES (loopback by default:
a proxy or the portal on the same host; set it empty to believe no one).
The header is read right to left (each proxy appends the address it saw) and the first address that is not
a trusted proxy is the client, so a client cannot pick its own address by sending the header itself. The
portal's server calls the API on behalf of browsers: list its address in TRUSTED_PROXIES and have it send
the browser's address in X-Forwarded-For, or every visitor shares the portal's address (and its limits).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, MutableMapping
from typing import Any

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

SCOPE_KEY = "portal.client_ip"
UNKNOWN = "unknown"


def parse_address(value: str) -> IPAddress | None:
    """An address from a header hop: `1.2.3.4`, `1.2.3.4:5678`, `::1` or `[::1]:80`; None if it is none."""
    value = value.strip()
    if value.startswith("["):
        value = value[1 : value.find("]")] if "]" in value else ""
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


class ClientAddresses:
    def __init__(self, trusted_proxies: Iterable[str]) -> None:
        networks: list[IPNetwork] = []
        for entry in trusted_proxies:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise ValueError(f"TRUSTED_PROXIES: {entry!r} is not an IP address or CIDR network") from None
        self._networks = tuple(networks)

    def _trusted(self, address: IPAddress | None) -> bool:
        return address is not None and any(address in network for network in self._networks)

    def of(self, scope: MutableMapping[str, Any]) -> str:
        """The client address of an ASGI request (computed once, then kept in the scope)."""
        found: str | None = scope.get(SCOPE_KEY)
        if found is None:
            found = self._resolve(scope)
            scope[SCOPE_KEY] = found
        return found

    def _resolve(self, scope: MutableMapping[str, Any]) -> str:
        client = scope.get("client")
        peer: str = client[0] if client else UNKNOWN
        if not self._networks or not self._trusted(parse_address(peer)):
            return peer
        hops: list[str] = []
        for name, value in scope.get("headers") or ():
            if name == b"x-forwarded-for":
                hops.extend(hop for hop in value.decode("latin-1").split(",") if hop.strip())
        nearest_trusted = peer
        for hop in reversed(hops):
            address = parse_address(hop)
            if address is None:
                break  # garbage written by (or past) a trusted proxy: stop at the last address we can trust
            if not self._trusted(address):
                return str(address)
            nearest_trusted = str(address)
        return nearest_trusted
