"""The reconciler: the database says which tasks must run; put back on the queue what it lost.

Huey delivers at most once, so a worker killed mid-task loses that task's message. Run at
worker start and periodically, `reconcile` requeues
- pending tasks that are not in the queue and have not changed for `pending_grace_seconds`
  (the grace covers the moment between a batch's commit and its enqueue);
- running tasks whose lease expired (their worker died); after MAX_ATTEMPTS lost leases the
  task is marked failed instead, so a task that kills its worker cannot loop forever;
- with `watch_live_leases` (worker start), running tasks whose lease is still live get a
  delayed requeue at lease expiry, so a crash is recovered as soon as the lease allows.

Requeueing twice is harmless: execute_task claims atomically and skips a task that is done,
gone or claimed by someone else.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from app.context import AppContext
from app.services.batches import MAX_ATTEMPTS, refresh_batch_counts
from db.models import SwapTask
from db.session import transaction

log = logging.getLogger(__name__)

Requeue = Callable[[list[str], float], None]  # (task ids, delay in seconds)
LEASE_CHECK_MARGIN_SECONDS = 1.0
DEFAULT_LIMIT = 1000


@dataclass(frozen=True)
class ReconcileReport:
    requeued_pending: tuple[str, ...] = ()
    requeued_expired: tuple[str, ...] = ()
    watched: tuple[str, ...] = ()
    given_up: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.requeued_pending or self.requeued_expired or self.watched or self.given_up)

    def summary(self) -> str:
        return (
            f"requeued {len(self.requeued_pending)} lost pending and {len(self.requeued_expired)} "
            f"expired-lease tasks, watching {len(self.watched)} live leases, "
            f"gave up on {len(self.given_up)}"
        )


def reconcile(
    ctx: AppContext,
    requeue: Requeue,
    *,
    now: datetime,
    queued: Collection[str] = frozenset(),
    pending_grace_seconds: float = 60.0,
    watch_live_leases: bool = False,
    limit: int = DEFAULT_LIMIT,
) -> ReconcileReport:
    """Compare the task rows with `queued` (ids in the queue or its schedule) and requeue the gaps."""
    queued_ids = frozenset(queued)
    lost = [t for t in _stale_pending(ctx, now - timedelta(seconds=pending_grace_seconds), limit) if t not in queued_ids]
    running = [row for row in _running(ctx, limit) if row[0] not in queued_ids]
    expired = [(task_id, attempts) for task_id, attempts, lease in running if lease is None or lease < now]
    given_up = tuple(_give_up(ctx, [(t, a) for t, a in expired if a >= MAX_ATTEMPTS], now))
    requeue_now = [t for t, a in expired if a < MAX_ATTEMPTS]
    if lost or requeue_now:
        requeue([*lost, *requeue_now], 0.0)
    watched: list[str] = []
    if watch_live_leases:
        for task_id, _attempts, lease in running:
            if lease is not None and lease >= now:
                delay = (lease - now).total_seconds() + LEASE_CHECK_MARGIN_SECONDS
                requeue([task_id], delay)
                watched.append(task_id)
    return ReconcileReport(tuple(lost), tuple(requeue_now), tuple(watched), given_up)


def _stale_pending(ctx: AppContext, before: datetime, limit: int) -> list[str]:
    with ctx.sessions() as session:
        return list(
            session.execute(
                select(SwapTask.task_id)
                .where(SwapTask.status == "pending", SwapTask.updated_at <= before)
                .order_by(SwapTask.id)
                .limit(limit)
            ).scalars()
        )


def _running(ctx: AppContext, limit: int) -> list[tuple[str, int, datetime | None]]:
    with ctx.sessions() as session:
        rows = session.execute(
            select(SwapTask.task_id, SwapTask.attempts, SwapTask.lease_expires_at)
            .where(SwapTask.status == "running")
            .order_by(SwapTask.id)
            .limit(limit)
        ).all()
    return [(task_id, int(attempts), lease) for task_id, attempts, lease in rows]


def _give_up(ctx: AppContext, tasks: list[tuple[str, int]], now: datetime) -> list[str]:
    """Mark failed the tasks whose worker was lost MAX_ATTEMPTS times (fenced on attempts and lease)."""
    failed = []
    for task_id, attempts in tasks:
        with transaction(ctx.sessions) as session:
            done = session.execute(
                update(SwapTask)
                .where(
                    SwapTask.task_id == task_id,
                    SwapTask.status == "running",
                    SwapTask.attempts == attempts,
                    SwapTask.lease_expires_at < now,
                )
                .values(
                    status="failed",
                    error=f"gave up after {attempts} attempts: the worker was lost each time",
                    lease_expires_at=None,
                    finished_at=now,
                    updated_at=now,
                )
            )
            if done.rowcount == 1:
                refresh_batch_counts(session, task_id)
                failed.append(task_id)
    if failed:
        log.warning("reconcile: gave up on %d task(s) after %d lost workers each", len(failed), MAX_ATTEMPTS)
    return failed
