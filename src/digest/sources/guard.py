"""Which hosts digest may ask: public addresses only, unless the source itself lives on a private
host. A feed's item can link anywhere, and a teaser's page is fetched and quoted in the email, so
without this a stranger's feed could make digest read `http://127.0.0.1/admin` or a cloud
metadata address and mail the answer out (server-side request forgery).

`Guard.check` runs before every request (redirects included): it resolves the host and refuses
it when any of its addresses is loopback, private, link-local, shared, reserved or otherwise not
global. `Guard.check_peer` checks the address really connected to, once the answer arrives, so a
name that resolves differently the second time (DNS rebinding) gets no further.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

__all__ = ["Guard", "NotPublic", "kind_of"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class NotPublic(Exception):
    """A request to a host that is not public, from a source that may not reach one."""


def _address(text: str) -> IPAddress | None:
    try:
        addr = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address):
        return _embedded_ipv4(addr) or addr
    return addr


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(addr: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (mapped, 6to4, NAT64, IPv4-compatible): on a
    network that translates them, `64:ff9b::a9fe:a9fe` reaches 169.254.169.254."""
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    if addr.sixtofour is not None:
        return addr.sixtofour
    low = ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    if addr in _NAT64 or (int(addr) >> 32 == 0 and int(addr) > 1):
        return low
    return None


def kind_of(addr: IPAddress) -> str | None:
    """None for a public address; else what kind of non-public address it is."""
    if addr.is_loopback:
        return "a loopback address"
    if addr.is_link_local:
        return "a link-local address"
    if addr.is_private:
        return "a private address"
    if addr.is_multicast:
        return "a multicast address"
    if not addr.is_global:
        return "not a public address"
    return None


class Guard:
    """The address rule for one run, with each host's addresses looked up once."""

    def __init__(self) -> None:
        self._resolved: dict[tuple[str, int], list[IPAddress]] = {}

    async def addresses(self, host: str, port: int) -> list[IPAddress]:
        literal = _address(host.strip("[]"))
        if literal is not None:
            return [literal]
        key = (host.lower(), port)
        if key not in self._resolved:
            loop = asyncio.get_running_loop()
            try:
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except (OSError, ValueError):  # ValueError: a label over 63 characters, "a..b"
                infos = []  # the connection attempt reports it, as for any unreachable host
            found = [_address(str(info[4][0])) for info in infos]
            self._resolved[key] = [a for a in found if a is not None]
        return self._resolved[key]

    async def is_private(self, url: str) -> bool:
        """Whether a configured source's URL names a host with any non-public address."""
        host, port = _host_port(url)
        if not host:
            return False
        return any(kind_of(a) for a in await self.addresses(host, port))

    async def check(self, url: str) -> None:
        """Refuse a URL whose host has a non-public address (raises NotPublic)."""
        host, port = _host_port(url)
        if not host:
            return
        for addr in await self.addresses(host, port):
            kind = kind_of(addr)
            if kind:
                raise NotPublic(_refusal(host, addr, kind))

    def check_peer(self, host: str, peer: object) -> None:
        """Refuse an answer that came from a non-public address after all."""
        if not isinstance(peer, tuple) or not peer:
            return
        addr = _address(str(peer[0]))
        kind = kind_of(addr) if addr is not None else None
        if addr is not None and kind:
            raise NotPublic(_refusal(host, addr, kind))


def _host_port(url: str) -> tuple[str | None, int]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None, 0
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def _refusal(host: str, addr: IPAddress, kind: str) -> str:
    where = host if host.strip("[]") == str(addr) else f"{host} ({addr})"
    return (
        f"refused: {where} is {kind}, and digest only follows links to public hosts "
        "(a source configured on a private host may reach private ones)"
    )
