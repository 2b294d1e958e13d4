"""Template crawler, network half: guarded fetches and HTML image extraction. No database here.

`crawl(url, allow_private=..., max_images=...)` returns a `CrawlResult` whose images carry raw
bytes for `pipeline.intake.decode_image`; it raises `CrawlRefused` or `FetchFailed` (both
`CrawlError`, a `ServiceError`).
"""

from app.crawl.crawler import CrawlResult, Rejected, crawl, crawl_async
from app.crawl.extract import extract_image_urls, srcset_urls
from app.crawl.fetch import Fetched, FetchedImage, Fetcher, FetchLimits, sniff_image_type
from app.crawl.guard import (
    CrawlError,
    CrawlRefused,
    FetchFailed,
    Guard,
    Resolver,
    Target,
    address_refusal,
    system_resolver,
)

__all__ = [
    "CrawlError",
    "CrawlRefused",
    "CrawlResult",
    "FetchFailed",
    "FetchLimits",
    "Fetched",
    "FetchedImage",
    "Fetcher",
    "Guard",
    "Rejected",
    "Resolver",
    "Target",
    "address_refusal",
    "crawl",
    "crawl_async",
    "extract_image_urls",
    "sniff_image_type",
    "srcset_urls",
    "system_resolver",
]
