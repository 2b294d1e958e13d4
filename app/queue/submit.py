"""How batches and crawls started by the CLI and the UI run: the callables injected into services.

'queue' (and 'auto'): Huey, which needs a consumer (`serve` starts one on the embedded default,
`worker` processes on Redis); 'inline': a background thread of this process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

from app.context import AppContext
from app.errors import one_line
from app.queue.tasks import enqueue_crawl, enqueue_swap_tasks, make_huey
from app.services import batches, crawl, runs

log = logging.getLogger(__name__)

SubmitMode = Literal["auto", "queue", "inline"]
CrawlStarter = Callable[[int], None]


def make_submitter(ctx: AppContext, mode: SubmitMode = "auto") -> runs.Submit:
    """A `submit(batch_id)` for services.runs: the queue, or a background thread ('inline')."""
    if mode in ("auto", "queue"):
        huey = make_huey(ctx.settings)

        def enqueue(batch_id: str) -> None:
            enqueue_swap_tasks(huey, batches.pending_task_ids(ctx, batch_id))

        return enqueue
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="coswap-inline")

    def run_in_background(batch_id: str) -> None:
        executor.submit(_logged, runs.run_inline, ctx, batch_id)

    return run_in_background


def make_crawl_starter(ctx: AppContext, mode: SubmitMode = "auto") -> CrawlStarter:
    """Crawls started from the UI run on the job queue ('inline': a background thread)."""
    if mode in ("auto", "queue"):
        huey = make_huey(ctx.settings)
        return lambda crawl_id: enqueue_crawl(huey, crawl_id)
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="coswap-crawl")

    def run_in_background(crawl_id: int) -> None:
        executor.submit(_logged, crawl.execute_crawl, ctx, crawl_id)

    return run_in_background


def _logged(fn: Callable[..., Any], *args: Any) -> None:
    try:
        fn(*args)
    except Exception as exc:  # the outcome is on the row; a background thread has nobody to raise to
        log.warning("background %s stopped: %s", getattr(fn, "__name__", "job"), one_line(exc))
