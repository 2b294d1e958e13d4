"""Guarded HTTP fetches with httpx: every hop checked and pinned, bodies capped, one deadline.

- Each hop (the first request and every redirect) goes through `Guard.check` and connects to the
  address that was checked: the request goes to the IP URL with the Host header and the TLS
  `sni_hostname` extension set to the original host (the pattern httpx documents for "connect
  to an explicit IP"). Keep-alive is off, so no connection is reused for another host name.
- Redirects are followed by hand, at most `max_redirects`.
- The body is read raw (`Accept-Encoding: identity`; compressed replies are refused, so no
  decompression bomb) and the byte cap holds while streaming, whatever Content-Length says.
- `deadline_s` bounds the whole fetch (DNS, connects, redirects, body) through
  `asyncio.timeout`; httpx's own timeouts are per operation only (encode/httpx#1450).
- No cookies are kept, no proxy or other environment settings are read (trust_env=False).
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from types import TracebackType

import httpx

from app.crawl.guard import CrawlRefused, FetchFailed, Guard, Target

log = logging.getLogger(__name__)

PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml"})
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "CoSwap-template-crawler/1.0"
PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,image/webp,image/png,image/jpeg;q=0.8"
IMAGE_ACCEPT = "image/webp,image/png,image/jpeg"


@dataclass(frozen=True)
class FetchLimits:
    max_bytes: int = 15 * 2**20
    deadline_s: float = 10.0
    max_redirects: int = 3


@dataclass(frozen=True)
class Fetched:
    """A whole response body; `url` is the final URL after redirects."""

    url: str
    content_type: str
    charset: str | None
    data: bytes


@dataclass(frozen=True)
class FetchedImage:
    """Image bytes whose type and magic bytes passed; `content_type` is what the bytes are."""

    url: str
    content_type: str
    data: bytes


def sniff_image_type(data: bytes) -> str | None:
    """The accepted image type the magic bytes show, or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def as_image(fetched: Fetched) -> FetchedImage:
    """Check the declared type, then the magic bytes. Decoding is the caller's job."""
    if fetched.content_type not in IMAGE_TYPES:
        declared = fetched.content_type or "missing"
        raise FetchFailed(f"content type {declared} is not JPEG, PNG or WebP", fetched.url)
    sniffed = sniff_image_type(fetched.data)
    if sniffed is None:
        raise FetchFailed(f"declared {fetched.content_type} but the bytes are not an image", fetched.url)
    return FetchedImage(url=fetched.url, content_type=sniffed, data=fetched.data)


def _no_cookies() -> CookieJar:
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


class Fetcher:
    """One crawl's guarded HTTP client. Use as `async with Fetcher(guard) as fetcher:`.

    `transport` replaces httpx's network transport (tests route a fake public address to
    loopback with it); the guard still decides and pins every hop.
    """

    def __init__(
        self,
        guard: Guard,
        limits: FetchLimits = FetchLimits(),
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._guard = guard
        self._limits = limits
        no_keepalive = httpx.Limits(max_keepalive_connections=0)
        self._client = httpx.AsyncClient(
            transport=transport or httpx.AsyncHTTPTransport(trust_env=False, limits=no_keepalive),
            trust_env=False,
            follow_redirects=False,
            cookies=_no_cookies(),
            timeout=httpx.Timeout(limits.deadline_s),
            limits=no_keepalive,
        )
        # DNS runs here, not in asyncio's default executor, so a hung lookup never delays close.
        self._dns = ThreadPoolExecutor(max_workers=4, thread_name_prefix="crawl-dns")

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()
        self._dns.shutdown(wait=False, cancel_futures=True)

    async def fetch(self, url: str, *, accept: str = PAGE_ACCEPT) -> Fetched:
        """The body at `url`. Raises CrawlRefused (any hop refused) or FetchFailed."""
        deadline_s = self._limits.deadline_s
        try:
            async with asyncio.timeout(deadline_s):
                return await self._follow(url, accept)
        except TimeoutError:
            raise FetchFailed(f"deadline of {deadline_s:g} s exceeded", url) from None

    async def fetch_image(self, url: str) -> FetchedImage:
        return as_image(await self.fetch(url, accept=IMAGE_ACCEPT))

    async def _follow(self, url: str, accept: str) -> Fetched:
        current = url
        for _ in range(self._limits.max_redirects + 1):
            target = await self._check(current)
            try:
                async with self._client.stream(
                    "GET", target.connect_url, headers=_headers(target, accept), extensions=_extensions(target)
                ) as response:
                    location = _redirect_location(target, response)
                    if location is None:
                        return await self._read(target, response)
            except httpx.TimeoutException:
                raise FetchFailed("timed out", str(target.url)) from None
            except httpx.HTTPError as error:
                raise FetchFailed(_describe(error), str(target.url)) from None
            current = _join(target, location)
            log.debug("redirect %s -> %s", target.url, current)
        raise FetchFailed(f"more than {self._limits.max_redirects} redirects", url)

    async def _check(self, url: str) -> Target:
        loop = asyncio.get_running_loop()
        target = await loop.run_in_executor(self._dns, self._guard.check, url)
        log.debug("allowed %s via %s", target.url, target.address)
        return target

    async def _read(self, target: Target, response: httpx.Response) -> Fetched:
        url, max_bytes = str(target.url), self._limits.max_bytes
        if response.status_code != 200:
            raise FetchFailed(f"HTTP status {response.status_code}", url)
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise FetchFailed(f"content encoding {encoding!r} is not accepted", url)
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise FetchFailed(f"Content-Length {declared} is over the {max_bytes} byte cap", url)
        body = bytearray()
        async for chunk in response.aiter_raw():
            body += chunk
            if len(body) > max_bytes:
                raise FetchFailed(f"body is over the {max_bytes} byte cap", url)
        media_type = response.headers.get("content-type", "").partition(";")[0].strip().lower()
        return Fetched(url=url, content_type=media_type, charset=response.charset_encoding, data=bytes(body))


def _headers(target: Target, accept: str) -> dict[str, str]:
    return {
        "Host": target.host_header,
        "Accept": accept,
        "Accept-Encoding": "identity",
        "User-Agent": USER_AGENT,
    }


def _extensions(target: Target) -> dict[str, str]:
    """TLS checks the certificate against the original host name, not the pinned IP."""
    return {"sni_hostname": target.host} if target.is_https and target.host_is_name else {}


def _redirect_location(target: Target, response: httpx.Response) -> str | None:
    if response.status_code not in REDIRECT_STATUSES:
        return None
    location: str = response.headers.get("location", "").strip()
    if not location:
        raise FetchFailed(f"HTTP {response.status_code} redirect without a Location", str(target.url))
    return location


def _describe(error: httpx.HTTPError) -> str:
    detail = str(error).strip()
    return f"{type(error).__name__}: {detail}" if detail else type(error).__name__


def _join(target: Target, location: str) -> str:
    try:
        return str(target.url.join(location))
    except httpx.InvalidURL as invalid:
        raise CrawlRefused(f"invalid redirect location ({invalid})", str(target.url)) from None
