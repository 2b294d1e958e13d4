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
from app.tasks import STARTUP_GRACE_SECONDS, make_huey, run_reconcile

if TYPE_CHECKING:
    from app.context import AppContext

log = logging.getLogger("coswap.worker")

SHUTDOWN_TIMEOUT_SECONDS = 60.0  # a graceful stop lets the current swap finish
EMBEDDED_MAX_POLL_SECONDS = 1.0  # SQLite has no blocking pop: poll at most this far apart
_PR_SET_PDEATHSIG = 1


def run_worker(settings: Settings, *, workers: int = 1, periodic: bool = True) -> int:
    """Run the Huey consumer with `workers` processes until SIGTERM (graceful) or SIGINT.

    Each worker process builds its own AppContext (database engine, face engine) after the
    fork and warms the engine before taking its first task.
    """
    huey = make_huey(settings)
    startup_reconcile(settings, huey)
    huey.on_startup(name="coswap_die_with_consumer")(_die_with_parent)
    consumer = huey.create_consumer(
        workers=workers,
        worker_type="process",
        periodic=periodic,
        graceful_signal="TERM",
        shutdown_timeout=SHUTDOWN_TIMEOUT_SECONDS,
        max_delay=EMBEDDED_MAX_POLL_SECONDS if not settings.redis_url else 10.0,
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
    consumer.start()
    log.info("embedded queue consumer started: %d thread(s)", workers)
    return EmbeddedConsumer(huey, consumer)


def _die_with_parent() -> None:
    """A worker process ends when its consumer dies (even by SIGKILL) instead of running on alone."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the consumer died before prctl took effect
        os.kill(os.getpid(), signal.SIGKILL)


def _quiet_huey_logs() -> None:
    """Our own log line per task replaces Huey's three; Huey's warnings and errors still show."""
    for name in ("huey", "huey.consumer", "huey.consumer.Scheduler"):
        logging.getLogger(name).setLevel(logging.WARNING)
