"""Crawl one URL for template images: an image URL gives one image, an HTML page its images.

Decoding and duplicate removal are the caller's job (the templates service), so the result
carries raw bytes that passed the type and magic-byte checks.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx

from app.crawl.extract import extract_image_urls
from app.crawl.fetch import PAGE_TYPES, Fetched, FetchedImage, Fetcher, FetchLimits, as_image
from app.crawl.guard import CrawlError, FetchFailed, Guard, Resolver, system_resolver
from app.errors import InvalidRequest

MAX_IMAGES_LIMIT = 200
PARALLEL_FETCHES = 4


@dataclass(frozen=True)
class Rejected:
    """A candidate that gave no image, and why (one line)."""

    url: str
    reason: str


@dataclass(frozen=True)
class CrawlResult:
    """`found` counts the distinct candidates; the first `max_images` of them were fetched,
    and each of those is in `images` or in `rejected`."""

    page_url: str
    found: int
    images: list[FetchedImage]
    rejected: list[Rejected]


def crawl(
    url: str,
    *,
    allow_private: bool = False,
    max_images: int = 20,
    max_bytes: int = 15 * 2**20,
    deadline_s: float = 10.0,
    resolver: Resolver = system_resolver,
    transport: httpx.AsyncBaseTransport | None = None,
) -> CrawlResult:
    """Blocking `crawl_async`, for the CLI, services and worker threads (not inside an event loop).

    Raises CrawlRefused when the URL (or a redirect of it) is refused by the address policy,
    FetchFailed when the page itself cannot be fetched or is neither HTML nor an image, and
    InvalidRequest for out-of-range limits. `resolver` and `transport` are seams for tests.
    """
    return asyncio.run(
        crawl_async(
            url,
            allow_private=allow_private,
            max_images=max_images,
            max_bytes=max_bytes,
            deadline_s=deadline_s,
            resolver=resolver,
            transport=transport,
        )
    )


async def crawl_async(
    url: str,
    *,
    allow_private: bool = False,
    max_images: int = 20,
    max_bytes: int = 15 * 2**20,
    deadline_s: float = 10.0,
    resolver: Resolver = system_resolver,
    transport: httpx.AsyncBaseTransport | None = None,
) -> CrawlResult:
    """See `crawl`. Each fetch (page or image) has its own `deadline_s` and `max_bytes`."""
    _check_limits(max_images, max_bytes, deadline_s)
    guard = Guard(allow_private=allow_private, resolver=resolver)
    limits = FetchLimits(max_bytes=max_bytes, deadline_s=deadline_s)
    async with Fetcher(guard, limits, transport=transport) as fetcher:
        start = await fetcher.fetch(url)
        if start.content_type in PAGE_TYPES:
            candidates = extract_image_urls(start.data, start.url, encoding=start.charset)
            outcomes = await _fetch_images(fetcher, candidates[:max_images])
            found = len(candidates)
        elif start.content_type.startswith("image/"):
            outcomes, found = [_image_or_rejected(start)], 1
        else:
            kind = start.content_type or "missing"
            raise FetchFailed(f"content type {kind} is neither an HTML page nor an image", start.url)
    return CrawlResult(
        page_url=start.url,
        found=found,
        images=[outcome for outcome in outcomes if isinstance(outcome, FetchedImage)],
        rejected=[outcome for outcome in outcomes if isinstance(outcome, Rejected)],
    )


async def _fetch_images(fetcher: Fetcher, urls: list[str]) -> list[FetchedImage | Rejected]:
    """Fetch a few at a time; the outcomes keep the order of `urls`."""
    slots = asyncio.Semaphore(PARALLEL_FETCHES)

    async def fetch_one(url: str) -> FetchedImage | Rejected:
        async with slots:
            try:
                return await fetcher.fetch_image(url)
            except CrawlError as error:
                return Rejected(url=url, reason=error.reason)

    return list(await asyncio.gather(*(fetch_one(url) for url in urls)))


def _image_or_rejected(fetched: Fetched) -> FetchedImage | Rejected:
    try:
        return as_image(fetched)
    except FetchFailed as error:
        return Rejected(url=fetched.url, reason=error.reason)


def _check_limits(max_images: int, max_bytes: int, deadline_s: float) -> None:
    if not 1 <= max_images <= MAX_IMAGES_LIMIT:
        raise InvalidRequest(f"max_images must be between 1 and {MAX_IMAGES_LIMIT}, not {max_images}")
    if max_bytes < 1:
        raise InvalidRequest(f"max_bytes must be positive, not {max_bytes}")
    if not deadline_s > 0:
        raise InvalidRequest(f"deadline_s must be positive, not {deadline_s}")
