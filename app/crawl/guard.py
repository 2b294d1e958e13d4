"""Address policy for outbound fetches: which URLs the crawler may contact, and at which address.

`Guard.check(url)` parses the URL, resolves its host once and returns a `Target` pinned to the
address that was checked; the fetcher then connects to that address and nothing else, so DNS
rebinding cannot switch it between check and connect.

Policy:
- only http and https, no userinfo, ports 1..65535, no IPv6 zone ids;
- legacy numeric hosts (2130706433, 0x7f.1, 127.1) are normalised the way browsers do
  (inet_aton) and the resulting address is checked;
- IPv6 forms that embed an IPv4 address (mapped ::ffff:a.b.c.d, compatible ::a.b.c.d, NAT64
  64:ff9b::/96, 6to4 2002::/16, Teredo) are judged by the embedded address;
- a host is refused when ANY of its resolved addresses is refused;
- refused always: unspecified, link-local (169.254.0.0/16 holds cloud metadata, fe80::/10),
  multicast, reserved and every other non-global address not listed below;
- refused unless `allow_private`: loopback, private (RFC 1918, fc00::/7 and the other special
  ranges Python marks private) and shared CGNAT space 100.64.0.0/10. `allow_private` is meant
  for tests and intranet operators; it never opens link-local, so 169.254.169.254 stays closed.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import httpx

from app.errors import ServiceError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]
"""Maps (host, port) to IP address strings; `system_resolver` by default, a fake one in tests."""

ALLOWED_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}

_SHARED_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_NUMERIC_LABEL = re.compile(r"(0x[0-9a-f]*|[0-9]+)", re.IGNORECASE)
_NUMERIC_HOST = re.compile(r"[0-9a-fx.]+", re.IGNORECASE)


class CrawlError(ServiceError):
    """Base of the crawler's errors; `reason` is one short line, `url` what it was about."""

    def __init__(self, reason: str, url: str | None = None) -> None:
        self.reason = reason
        self.url = url
        super().__init__(f"{url}: {reason}" if url else reason)


class CrawlRefused(CrawlError):
    """The URL is refused by policy (scheme, credentials, address). No connection was made."""


class FetchFailed(CrawlError):
    """One resource could not be fetched: unresolvable, timeout, too big, bad status or type."""


@dataclass(frozen=True)
class Target:
    """A checked URL and the one address the fetcher may connect to for it."""

    url: httpx.URL
    host: str
    port: int
    address: IPAddress

    @property
    def is_https(self) -> bool:
        return self.url.scheme == "https"

    @property
    def host_is_name(self) -> bool:
        """False when the URL names the address itself (no SNI is sent then)."""
        return self.host != str(self.address)

    @property
    def connect_url(self) -> httpx.URL:
        """The URL with its host replaced by the pinned address."""
        return self.url.copy_with(host=str(self.address))

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.url.scheme] else f"{host}:{self.port}"


def system_resolver(host: str, port: int) -> list[str]:
    """All addresses the system resolver gives for a TCP connection to host:port."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


def address_refusal(address: IPAddress, *, allow_private: bool = False) -> str | None:
    """Why this address may not be contacted, or None when it may."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        inner = address_refusal(embedded, allow_private=allow_private)
        return f"embeds {embedded}, which {inner}" if inner else None
    always = _always_refused(address)
    if always:
        return f"is {always}"
    liftable = _private_kind(address)
    if liftable and not allow_private:
        return f"is {liftable}; such addresses are imported only when the operator allows them (--allow-private)"
    if liftable is None and not address.is_global:
        return "is not a global address"
    return None


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _always_refused(address: IPAddress) -> str | None:
    if address.is_unspecified or address in _THIS_NETWORK:
        return "unspecified"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address.is_loopback:
        return None
    if address.is_reserved:
        return "reserved"
    return None


def _private_kind(address: IPAddress) -> str | None:
    if address.is_loopback:
        return "loopback"
    if address in _SHARED_CGNAT:
        return "shared address space (CGNAT)"
    if address.is_private:
        return "private"
    return None


def _literal_address(host: str) -> IPAddress | None:
    """The address a host spells out itself (IP literal or legacy numeric form), else None."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return _numeric_ipv4(host)


def _numeric_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """Browser-style reading of hosts ending in a number; None for ordinary names."""
    last_label = host.rstrip(".").rsplit(".", 1)[-1]
    if not _NUMERIC_LABEL.fullmatch(last_label):
        return None
    if not _NUMERIC_HOST.fullmatch(host):
        raise CrawlRefused(f"malformed numeric host {host!r}")
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host.rstrip(".")))
    except OSError:
        raise CrawlRefused(f"malformed numeric host {host!r}") from None


@dataclass(frozen=True)
class Guard:
    """Checks URLs against the address policy; one per crawl, holds no per-user state."""

    allow_private: bool = False
    resolver: Resolver = field(default=system_resolver)

    def check(self, url: str | httpx.URL) -> Target:
        """The URL pinned to a checked address. Raises CrawlRefused, or FetchFailed on DNS errors."""
        text = str(url)
        try:
            return self._check(httpx.URL(url))
        except CrawlRefused as refused:
            raise CrawlRefused(refused.reason, text) from None
        except FetchFailed as failed:
            raise FetchFailed(failed.reason, text) from None
        except httpx.InvalidURL as invalid:
            raise CrawlRefused(f"invalid URL ({invalid})", text) from None

    def _check(self, url: httpx.URL) -> Target:
        if url.scheme not in ALLOWED_SCHEMES:
            if not url.scheme:
                raise CrawlRefused("enter a full web address, starting with http:// or https://")
            raise CrawlRefused(f"only http:// and https:// addresses can be imported, not {url.scheme}://")
        if url.userinfo:
            raise CrawlRefused("credentials in the URL are not allowed")
        host = url.raw_host.decode("ascii").lower()
        if not host:
            raise CrawlRefused("the URL has no host")
        if "%" in host:
            raise CrawlRefused(f"host {host!r} is not allowed (percent sign or IPv6 zone id)")
        port = url.port if url.port is not None else DEFAULT_PORTS[url.scheme]
        if not 1 <= port <= 65535:
            raise CrawlRefused(f"port {port} is out of range")
        literal = _literal_address(host)
        if literal is not None:
            host = str(literal)  # the canonical spelling goes into Host and the connect URL
        addresses = [literal] if literal is not None else self._resolve(host, port)
        for address in addresses:
            refusal = address_refusal(address, allow_private=self.allow_private)
            if refusal:
                raise CrawlRefused(f"address {address} {refusal}")
        pinned_url = url.copy_with(host=host, fragment=None)
        return Target(url=pinned_url, host=host, port=port, address=addresses[0])

    def _resolve(self, host: str, port: int) -> list[IPAddress]:
        try:
            resolved = [ipaddress.ip_address(a.split("%", 1)[0]) for a in self.resolver(host, port)]
        except (OSError, UnicodeError, ValueError) as error:
            raise FetchFailed(f"cannot resolve host {host!r} ({error})") from None
        if not resolved:
            raise FetchFailed(f"host {host!r} has no address")
        return resolved
