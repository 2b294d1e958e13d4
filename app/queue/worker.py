"""Running the queue: `python app.py worker` (N worker processes) and the consumer embedded in `serve`.

Both reconcile at start: lost pending tasks and tasks whose lease expired go back on the queue,
and running tasks with a live lease get a requeue at its expiry, so a worker killed a moment ago
is recovered as soon as its lease allows.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from huey import Huey
from huey.consumer import Consumer

from app.config import Settings
from app.queue.tasks import STARTUP_GRACE_SECONDS, make_huey, run_reconcile

if TYPE_CHECKING:
    from app.context import AppContext

log = logging.getLogger("coswap.worker")

SHUTDOWN_TIMEOUT_SECONDS = 60.0  # a graceful stop lets the current swap finish
EMBEDDED_MAX_POLL_SECONDS = 0.25  # SQLite has no blocking pop: an idle worker polls at most this far apart
_PR_SET_PDEATHSIG = 1


def run_worker(settings: Settings, *, workers: int = 1, periodic: bool = True) -> int:
    """Run the Huey consumer with `workers` processes until SIGTERM (graceful) or SIGINT.

    Each worker process builds its own AppContext (database engine, face engine) after the
    fork and warms the engine before taking its first task.
    """
    threads = threads_per_process(workers)
    huey = make_huey(settings, process_setup=lambda: _prepare_worker_process(threads))
    startup_reconcile(settings, huey)
    _DieWithConsumer(os.getpid()).register()  # the worker and scheduler processes it forks
    consumer = huey.create_consumer(
        workers=workers,
        worker_type="process",
        periodic=periodic,
        graceful_signal="TERM",
        shutdown_timeout=SHUTDOWN_TIMEOUT_SECONDS,
        max_delay=EMBEDDED_MAX_POLL_SECONDS,  # SQLite polls; Redis blocks on BRPOP and ignores it
    )
    log.info(
        "worker started: %d process(es), queue %r on %s, database %s",
        workers,
        huey.name,
        "redis" if settings.redis_url else "sqlite",
        "sqlite" if settings.is_embedded else "postgresql",
    )
    _quiet_huey_logs()
    consumer.run()
    log.info("worker stopped")
    return 0


def startup_reconcile(settings: Settings, huey: Huey, context: AppContext | None = None) -> None:
    """Reconcile once with a short-lived context (disposed before any fork)."""
    from app.context import build_context

    ctx = context or build_context(settings)
    try:
        report = run_reconcile(huey, ctx, grace_seconds=STARTUP_GRACE_SECONDS, watch_live_leases=True)
        log.info("startup reconcile: %s", report.summary())
    finally:
        if context is None:
            ctx.dispose()


@dataclass
class EmbeddedConsumer:
    """A thread-based consumer inside the serving process; `stop()` ends it."""

    huey: Huey
    consumer: Consumer

    def stop(self, timeout: float | None = 10.0) -> None:
        self.consumer.shutdown_timeout = timeout
        self.consumer.stop(graceful=True)
        self.huey.storage.close()

    @property
    def alive(self) -> bool:
        return any(thread.is_alive() for _, thread in self.consumer.worker_threads)


class _HostedConsumer(Consumer):
    """The host process (the web server) owns the signal handlers, not the consumer."""

    def _set_signal_handlers(self) -> None:
        return None


def needs_embedded_consumer(settings: Settings) -> bool:
    """Serve runs its own consumer only on the embedded default (no REDIS_URL)."""
    return not settings.redis_url


def start_embedded_consumer(
    settings: Settings, *, context: AppContext | None = None, workers: int = 1, periodic: bool = True
) -> EmbeddedConsumer:
    """Start a consumer with worker threads in this process; returns at once.

    `context` lets the threads share the server's AppContext (one face engine in memory).
    """
    huey = make_huey(settings, context=context)
    startup_reconcile(settings, huey, context)
    consumer = _HostedConsumer(
        huey,
        workers=workers,
        worker_type="thread",
        periodic=periodic,
        max_delay=EMBEDDED_MAX_POLL_SECONDS,
        shutdown_timeout=SHUTDOWN_TIMEOUT_SECONDS,
    )
    _quiet_huey_logs()
    consumer.start()
    log.info("embedded queue consumer started: %d thread(s)", workers)
    return EmbeddedConsumer(huey, consumer)


def threads_per_process(workers: int, cpus: int | None = None) -> int:
    """CPU threads each worker process may use so that N processes do not oversubscribe the cores."""
    return max(1, (cpus or os.cpu_count() or 1) // max(1, workers))


def _prepare_worker_process(threads: int) -> None:
    _limit_threads(threads)


def _limit_threads(threads: int) -> None:
    """Runs before the engine loads: OpenCV's loops and OpenMP/BLAS pools use `threads` threads."""
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)
    try:
        import cv2

        cv2.setNumThreads(threads)
    except ImportError:
        return


@dataclass
class _DieWithConsumer:
    """Processes the consumer forks end when it dies (even by SIGKILL) instead of running on alone.

    Linux only (PR_SET_PDEATHSIG); processes forked further down are left alone.
    """

    consumer_pid: int
    forking_pid: int = 0

    def register(self) -> None:
        if sys.platform.startswith("linux"):
            os.register_at_fork(before=self._before, after_in_child=self._in_child)

    def _before(self) -> None:
        self.forking_pid = os.getpid()

    def _in_child(self) -> None:
        if self.forking_pid != self.consumer_pid:
            return
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            return
        if os.getppid() != self.consumer_pid:  # the consumer died before prctl took effect
            os.kill(os.getpid(), signal.SIGKILL)


class _DropRetriedErrors(logging.Filter):
    """Huey logs every exception with its traceback (SQL parameters included); a transient error
    that will be retried already has our own one-line warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return type(error).__name__ != "TransientTaskError"


def _quiet_huey_logs() -> None:
    """Our own log line per task replaces Huey's three; Huey's warnings and errors still show."""
    huey_log = logging.getLogger("huey")
    for name in ("huey", "huey.consumer", "huey.consumer.Scheduler"):
        logging.getLogger(name).setLevel(logging.WARNING)
    if not any(isinstance(f, _DropRetriedErrors) for f in huey_log.filters):
        huey_log.addFilter(_DropRetriedErrors())
