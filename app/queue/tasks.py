"""The job queue: a Huey instance built by `make_huey`, with CoSwap's tasks registered on it.

Huey only carries task ids; the database is the record of truth (see app.services.batches).
Production uses RedisHuey (REDIS_URL); the embedded default is SqliteHuey at <data dir>/queue.db.

Nothing is built at import time and no task lives on a module-level instance: every call of
`make_huey` gives a new instance with its own tasks and its own per-process AppContext.
"""

from __future__ import annotations

import logging
import os
import pickle
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.api import TaskWrapper
from huey.exceptions import CancelExecution

from app.config import Settings

if TYPE_CHECKING:
    from app.context import AppContext
    from app.services.batches import TaskOutcome
    from app.services.cleanup import CleanupReport
    from app.services.reconcile import ReconcileReport

log = logging.getLogger("coswap.tasks")

SWAP_TASK_NAME = "swap"
TRANSIENT_RETRIES = 3  # Huey retries for TransientTaskError only; permanent failures are recorded
RETRY_DELAY_SECONDS = 2.0  # first retry after 2 s, then 4 s, 8 s
RETRY_BACKOFF = 2.0
RECONCILE_GRACE_SECONDS = 60.0  # a pending task this old that is not in the queue was lost
STARTUP_GRACE_SECONDS = 0.0  # at worker start nothing can be in flight on this worker yet


class QueueNotConfigured(Exception):
    """A Huey instance that `make_huey` did not build was handed to a CoSwap queue function."""


@dataclass
class ProcessContext:
    """The AppContext of the current process: built on first use, rebuilt after a fork.

    A forked worker must not reuse its parent's pooled database connections, so the
    inherited engine is dropped with `dispose(close=False)` and a fresh context is built.
    """

    settings: Settings
    injected: AppContext | None = None
    _context: AppContext | None = field(default=None, repr=False)
    _pid: int = field(default_factory=os.getpid, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def get(self) -> AppContext:
        if self.injected is not None:
            return self.injected
        if self._pid != os.getpid():
            self._forget_inherited()
        with self._lock:
            if self._context is None:
                from app.context import build_context

                self._context = build_context(self.settings)
            return self._context

    def warm(self) -> float:
        """Load and warm the face engine of this process; returns the seconds it took."""
        started = time.perf_counter()
        self.get().face_engine()
        return time.perf_counter() - started

    def close(self) -> None:
        if self._context is not None and self._pid == os.getpid():
            self._context.dispose()
        self._context = None

    def _forget_inherited(self) -> None:
        if self._context is not None:
            self._context.db_engine.dispose(close=False)
        self._context = None
        self._lock = threading.Lock()
        self._pid = os.getpid()


@dataclass(frozen=True)
class QueueTasks:
    """The tasks `make_huey` registered on one Huey instance, and its process context."""

    swap: TaskWrapper
    reconcile: TaskWrapper
    cleanup: TaskWrapper
    crawl: TaskWrapper
    context: ProcessContext

    @property
    def swap_name(self) -> str:
        task_class = self.swap.task_class
        return f"{task_class.__module__}.{task_class.__name__}"


class _RedisQueue(RedisHuey):
    coswap: QueueTasks


class _SqliteQueue(SqliteHuey):
    coswap: QueueTasks


def make_huey(
    settings: Settings,
    *,
    immediate: bool = False,
    context: AppContext | None = None,
    name: str | None = None,
    process_setup: Callable[[], None] | None = None,
) -> Huey:
    """RedisHuey when REDIS_URL is set, else SqliteHuey at <data dir>/queue.db.

    `immediate=True` runs every enqueued task synchronously in the caller (tests).
    `context` makes the tasks use an existing AppContext instead of building their own.
    `process_setup` runs in each worker at start, before its face engine is loaded and warmed.
    """
    queue_name = name or settings.queue_name
    common: dict[str, Any] = {"results": False, "immediate": immediate, "utc": True}
    huey: _RedisQueue | _SqliteQueue
    if settings.redis_url:
        huey = _RedisQueue(queue_name, url=settings.redis_url, **common)
    else:
        settings.resolved_data_dir.mkdir(parents=True, exist_ok=True)
        huey = _SqliteQueue(queue_name, filename=str(queue_db_path(settings)), timeout=30, **common)
    huey.coswap = _register_tasks(huey, ProcessContext(settings, injected=context), process_setup)
    return huey


def queue_db_path(settings: Settings) -> Path:
    return settings.resolved_data_dir / "queue.db"


def _register_tasks(huey: Huey, state: ProcessContext, process_setup: Callable[[], None] | None) -> QueueTasks:
    def swap(task_id: str) -> None:
        run_swap_task(state.get(), task_id)

    def reconcile() -> None:
        run_reconcile(huey, state.get(), grace_seconds=RECONCILE_GRACE_SECONDS)

    def cleanup() -> None:
        run_cleanup(state.get())

    def crawl(crawl_id: int) -> None:
        run_crawl_task(state.get(), crawl_id)

    swap_task = huey.task(
        retries=TRANSIENT_RETRIES, retry_delay=RETRY_DELAY_SECONDS, retry_backoff=RETRY_BACKOFF, name=SWAP_TASK_NAME
    )(swap)
    reconcile_task = huey.periodic_task(crontab(minute="*"), name="reconcile")(reconcile)
    crawl_task = huey.task(name="crawl")(crawl)
    cleanup_task = huey.periodic_task(cleanup_schedule(state.settings.cleanup_interval_minutes), name="cleanup")(
        cleanup
    )

    @huey.on_startup(name="coswap_warm_engine")
    def warm_engine() -> None:
        if process_setup is not None:
            process_setup()
        seconds = state.warm()
        log.info("worker %d ready: engine warmed in %.1fs", os.getpid(), seconds)

    @huey.on_shutdown(name="coswap_close_context")
    def close_context() -> None:
        state.close()

    return QueueTasks(
        swap=swap_task, reconcile=reconcile_task, cleanup=cleanup_task, crawl=crawl_task, context=state
    )


def cleanup_schedule(minutes: int) -> Any:
    """A crontab firing every `minutes` minutes (hours when it is 60 or more)."""
    if minutes < 60:
        return crontab(minute=f"*/{minutes}")
    return crontab(minute="0", hour=f"*/{max(1, minutes // 60)}")


def queue_tasks(huey: Huey) -> QueueTasks:
    tasks = getattr(huey, "coswap", None)
    if not isinstance(tasks, QueueTasks):
        raise QueueNotConfigured("this Huey instance was not built by app.queue.tasks.make_huey")
    return tasks


def enqueue_swap_tasks(huey: Huey, task_ids: Iterable[str], *, delay_seconds: float = 0.0) -> None:
    """Put swap tasks on the queue (after their rows are committed); `delay_seconds` schedules them."""
    swap = queue_tasks(huey).swap
    for task_id in task_ids:
        if delay_seconds > 0:
            swap.schedule(args=(task_id,), delay=delay_seconds)
        else:
            huey.enqueue(swap.s(task_id))


def enqueue_crawl(huey: Huey, crawl_id: int) -> None:
    """Queue a crawl whose crawl_tasks row is committed."""
    huey.enqueue(queue_tasks(huey).crawl.s(crawl_id))


def run_crawl_task(ctx: AppContext, crawl_id: int) -> None:
    """Run one crawl; its outcome (refusals included) is recorded on the crawl_tasks row."""
    from app.errors import ServiceError
    from app.services.crawl import execute_crawl

    try:
        report = execute_crawl(ctx, crawl_id, allow_private=ctx.settings.crawl_allow_private)
    except ServiceError as exc:
        log.info("crawl %s refused: %s", crawl_id, type(exc).__name__)
        return
    log.info("crawl %s %s: %s imported, %s rejected", crawl_id, report.status, report.imported, report.rejected)


def queued_task_ids(huey: Huey) -> set[str]:
    """Ids of the swap tasks waiting in the queue or in its schedule (retries, delayed checks)."""
    swap_name = queue_tasks(huey).swap_name
    found: set[str] = set()
    for raw in [*huey.storage.enqueued_items(), *huey.storage.scheduled_items()]:
        try:
            message = huey.serializer.deserialize(raw)
        except (pickle.UnpicklingError, AttributeError, ImportError, EOFError, TypeError, ValueError):
            log.debug("skipped a queue message this version cannot read")
            continue
        if getattr(message, "name", None) == swap_name and getattr(message, "args", None):
            found.add(str(message.args[0]))
    return found


def run_swap_task(ctx: AppContext, task_id: str) -> TaskOutcome | None:
    """The body of the swap task: claim and run one task row; retry only transient errors.

    A task row that is gone, already done or claimed elsewhere is skipped. A permanent
    failure is recorded on the row by execute_task and never retried.
    """
    from sqlalchemy.exc import OperationalError

    from app.services.batches import TransientTaskError, execute_task

    try:
        outcome = execute_task(ctx, task_id)
    except TransientTaskError as exc:
        log.warning("task %s: transient error, will retry: %s", task_id[:8], type(exc.__cause__).__name__)
        raise
    except OperationalError as exc:  # the database was unreachable before the claim
        log.warning("task %s: database unavailable, will retry", task_id[:8])
        raise TransientTaskError("database unavailable") from exc
    except Exception as exc:
        log.error("task %s: unexpected %s; not retried", task_id[:8], type(exc).__name__)
        raise CancelExecution(retry=False) from exc
    _log_outcome(ctx, outcome)
    return outcome


def _log_outcome(ctx: AppContext, outcome: TaskOutcome) -> None:
    if not outcome.claimed:
        log.debug("task %s skipped (done, gone or claimed elsewhere)", outcome.task_id[:8])
        return
    from sqlalchemy import select

    from db.models import SwapTask

    with ctx.sessions() as session:
        template_id = session.execute(
            select(SwapTask.template_id).where(SwapTask.task_id == outcome.task_id)
        ).scalar_one_or_none()
    log.info(
        "task %s template %s %s %.2fs", outcome.task_id[:8], template_id, outcome.status, outcome.total_seconds
    )


def run_reconcile(
    huey: Huey, ctx: AppContext, *, grace_seconds: float, watch_live_leases: bool = False
) -> ReconcileReport:
    """Requeue lost pending tasks and tasks whose lease expired (see app.services.reconcile)."""
    from app.services.reconcile import reconcile
    from db.base import utcnow

    report = reconcile(
        ctx,
        lambda ids, delay: enqueue_swap_tasks(huey, ids, delay_seconds=delay),
        now=utcnow(),
        queued=queued_task_ids(huey),
        pending_grace_seconds=grace_seconds,
        watch_live_leases=watch_live_leases,
    )
    if report.changed:
        log.info("reconcile: %s", report.summary())
    return report


def run_cleanup(ctx: AppContext) -> CleanupReport:
    from app.services.cleanup import cleanup_expired
    from db.base import utcnow

    report = cleanup_expired(ctx, now=utcnow())  # logs what it deleted
    if report.skipped:
        log.info("cleanup: %s", report.summary())
    return report
