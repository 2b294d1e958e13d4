"""Template crawls: fetch a page's images safely, import them as templates, record a crawl_tasks row."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from app.context import AppContext
from app.errors import InvalidRequest, NotFound, one_line
from app.services.reports import CrawlReport
from app.services.templates import add_template_image, decode_upload
from db.base import utcnow
from db.models import CrawlTask
from db.session import transaction
from pipeline.errors import ImageRejected

log = logging.getLogger(__name__)


def create_crawl(ctx: AppContext, url: str) -> int:
    url = url.strip()
    if not url:
        raise InvalidRequest("give a URL to crawl")
    with transaction(ctx.sessions) as session:
        row = CrawlTask(url=url[:4000], status="pending")
        session.add(row)
        session.flush()
        return row.id


def start_crawl(ctx: AppContext, url: str, start: Callable[[int], None]) -> int:
    """Record the crawl row, then hand its id to the injected `start` (the queue, or a thread).

    Whether private addresses are allowed is the operator's setting, read by whoever runs it.
    In public-demo mode visitors may not crawl at all (VisitorRefused); operators use the CLI."""
    from app.services.public_demo import refuse_visitor_crawl

    refuse_visitor_crawl(ctx)
    crawl_id = create_crawl(ctx, url)
    start(crawl_id)
    return crawl_id


def run_crawl(ctx: AppContext, url: str, *, allow_private: bool = False, max_images: int = 20) -> CrawlReport:
    """Crawl inline (the CLI path). A refused URL raises InvalidRequest after recording the row."""
    crawl_id = create_crawl(ctx, url)
    return execute_crawl(ctx, crawl_id, allow_private=allow_private, max_images=max_images)


def execute_crawl(ctx: AppContext, crawl_id: int, *, allow_private: bool = False, max_images: int = 20) -> CrawlReport:
    from app.crawl import crawl

    url = _start(ctx, crawl_id)
    try:
        result = crawl(url, allow_private=allow_private, max_images=max_images)
    except Exception as exc:  # refused, unreachable, bad limits: the row is closed either way
        _finish(ctx, crawl_id, status="failed", error=one_line(exc))
        raise
    imported, duplicates, rejected, template_ids = 0, 0, len(result.rejected), []
    for image in result.images:
        try:
            decoded = decode_upload(ctx, image.data)
        except ImageRejected as exc:
            rejected += 1
            log.info("crawl %s: image rejected: %s", crawl_id, exc)
            continue
        summary = add_template_image(ctx, decoded, name=_name_from_url(image.url), source_url=image.url)
        duplicates += summary.duplicate
        imported += not summary.duplicate
        template_ids.append(summary.id)
    status = _status(imported, duplicates, rejected)
    _finish(
        ctx,
        crawl_id,
        status=status,
        found=result.found,
        imported=imported,
        duplicates=duplicates,
        rejected=rejected,
        template_ids=template_ids,
    )
    return crawl_report(ctx, crawl_id)


def _status(imported: int, duplicates: int, rejected: int) -> str:
    if rejected and not (imported or duplicates):
        return "failed"
    return "partial" if rejected else "completed"


def _name_from_url(url: str) -> str:
    stem = PurePosixPath(urlsplit(url).path).stem
    return (stem.replace("_", " ").replace("-", " ").strip() or "crawled template")[:200]


def _start(ctx: AppContext, crawl_id: int) -> str:
    with transaction(ctx.sessions) as session:
        row = session.get(CrawlTask, crawl_id)
        if row is None:
            raise NotFound(f"crawl {crawl_id} does not exist")
        row.status, row.started_at = "running", utcnow()
        return row.url


def _finish(ctx: AppContext, crawl_id: int, *, status: str, error: str | None = None, found: int = 0,
            imported: int = 0, duplicates: int = 0, rejected: int = 0, template_ids: list[int] | None = None) -> None:
    with transaction(ctx.sessions) as session:
        row = session.get_one(CrawlTask, crawl_id)
        row.status, row.error, row.finished_at = status, error, utcnow()
        row.found_count, row.imported_count = found, imported
        row.duplicate_count, row.rejected_count = duplicates, rejected
        row.template_ids = template_ids or []


def crawl_report(ctx: AppContext, crawl_id: int) -> CrawlReport:
    with ctx.sessions() as session:
        row = session.get(CrawlTask, crawl_id)
        if row is None:
            raise NotFound(f"crawl {crawl_id} does not exist")
        return CrawlReport(
            crawl_id=row.id,
            url=row.url,
            status=row.status,
            found=row.found_count,
            imported=row.imported_count,
            duplicates=row.duplicate_count,
            rejected=row.rejected_count,
            template_ids=list(row.template_ids or []),
            error=row.error,
        )
