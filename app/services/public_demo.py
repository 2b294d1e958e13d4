"""What a visitor may do, by mode. Local mode (127.0.0.1): the one user curates the shared gallery.
Public mode (a non-loopback bind, or FACESWAP_PUBLIC_DEMO=true): uploads become private templates
under quotas, crawling and the shared gallery belong to the operator's CLI.
"""

from __future__ import annotations

import logging

from app.context import AppContext
from app.errors import InvalidRequest, ServiceError
from app.services import quotas, sessions
from app.services import templates as template_service

log = logging.getLogger(__name__)

CRAWL_REFUSED = (
    "importing from web pages is switched off in this public demo; the operator adds shared templates "
    "with `python app.py templates crawl URL`. Add your own photo as a template instead."
)

class VisitorRefused(ServiceError):
    """Something only the operator may do in public-demo mode."""


def refuse_visitor_crawl(ctx: AppContext) -> None:
    if ctx.settings.is_public_demo:
        raise VisitorRefused(CRAWL_REFUSED)


def uploads_are_private(ctx: AppContext) -> bool:
    return ctx.settings.is_public_demo


def banner(ctx: AppContext) -> str | None:
    """What the page says in public mode: a demo, and what is kept for how long (Markdown)."""
    if not ctx.settings.is_public_demo:
        return None
    settings = ctx.settings
    hours = settings.temporary_ttl_hours
    ttl = f"{hours:g} hours" if hours != 1 else "1 hour"
    return (
        f"**Public demo.** Your photos, your own templates and your results are private to this browser "
        f"(a random key it keeps) and are deleted after {ttl} (or now, with *Delete my photos and results now*). "
        "Nothing is kept longer. "
        f"Limits per visitor: {settings.max_private_templates} own templates, "
        f"{settings.max_pending_tasks} swaps waiting, {settings.max_uploads_per_hour} uploads an hour. "
        "The shared gallery is curated by the operator."
    )


def add_templates_for(
    ctx: AppContext,
    paths: list[str],
    *,
    session_id: str | None,
    name: str | None = None,
    read: template_service.ReadFile,
    on_progress: template_service.Progress | None = None,
    address: str | None = None,
) -> list[template_service.FileOutcome]:
    """Add a visitor's images as templates: private to the visitor in public mode (under quotas),
    shared in local mode. One bad file does not stop the others; quotas refuse the whole call."""
    if not paths:
        raise InvalidRequest("choose one or more image files to add")
    private_to = sessions.require_session(session_id) if uploads_are_private(ctx) else None
    if private_to is not None:
        quotas.check_private_templates(ctx, private_to, len(paths), address)
        quotas.check_storage(ctx, quotas.file_sizes(paths))
        quotas.record_uploads(ctx, private_to, len(paths), address)
    return template_service.add_files(
        ctx, paths, name, keep_going=True, read=read, on_progress=on_progress, private_to=private_to
    )
