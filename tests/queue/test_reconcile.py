"""The reconciler: lost pending tasks and expired leases go back on the queue, exactly once in effect."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from app.context import AppContext
from app.services.batches import MAX_ATTEMPTS, execute_task
from app.services.reconcile import reconcile
from app.queue.tasks import enqueue_swap_tasks, make_huey, queued_task_ids, run_reconcile
from db.base import utcnow
from db.models import SwapTask
from db.session import transaction
from tests.fixtures_data import SamplePhotos
from tests.queue.conftest import (
    add_templates,
    assert_no_orphans,
    batch_row,
    create_batch,
    task_rows,
)


class Requeued:
    """Collects what the reconciler requeues (a plain callable: no queue is mocked away)."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], float]] = []

    def __call__(self, task_ids: list[str], delay: float) -> None:
        self.calls.append((list(task_ids), delay))

    @property
    def now(self) -> list[str]:
        return [t for ids, delay in self.calls if delay == 0 for t in ids]


def _set(ctx: AppContext, task_id: str, **values: object) -> None:
    with transaction(ctx.sessions) as session:
        session.execute(update(SwapTask).where(SwapTask.task_id == task_id).values(**values))


@pytest.fixture
def batch(ctx: AppContext, photos: SamplePhotos, template_files: list[Path]) -> tuple[str, list[str]]:
    template_ids = add_templates(ctx, template_files[:3])
    batch_id = create_batch(ctx, photos, template_ids)
    return batch_id, [t.task_id for t in task_rows(ctx, batch_id)]


def test_pending_tasks_are_requeued_only_after_the_grace_and_when_not_queued(
    ctx: AppContext, batch: tuple[str, list[str]]
) -> None:
    _, (a, b, c) = batch
    fresh = Requeued()
    report = reconcile(ctx, fresh, now=utcnow(), pending_grace_seconds=60)
    assert fresh.calls == [] and not report.changed

    later = utcnow() + timedelta(seconds=61)  # the clock moves; nothing sleeps
    requeued = Requeued()
    report = reconcile(ctx, requeued, now=later, queued={b}, pending_grace_seconds=60)
    assert requeued.now == [a, c]
    assert report.requeued_pending == (a, c)


def test_expired_lease_is_requeued_and_a_live_one_is_watched(ctx: AppContext, batch: tuple[str, list[str]]) -> None:
    _, (a, b, _c) = batch
    now = utcnow()
    _set(ctx, a, status="running", attempts=1, lease_expires_at=now - timedelta(seconds=1))
    _set(ctx, b, status="running", attempts=1, lease_expires_at=now + timedelta(seconds=30))
    requeued = Requeued()
    report = reconcile(ctx, requeued, now=now, pending_grace_seconds=3600, watch_live_leases=True)
    assert report.requeued_expired == (a,) and report.watched == (b,)
    assert requeued.now == [a]
    ((watched, delay),) = [call for call in requeued.calls if call[1] > 0]
    assert watched == [b] and 30 <= delay <= 31.5

    periodic = Requeued()
    assert reconcile(ctx, periodic, now=now, pending_grace_seconds=3600).watched == ()


def test_a_task_that_lost_its_worker_max_attempts_times_fails(ctx: AppContext, batch: tuple[str, list[str]]) -> None:
    batch_id, (a, _, _) = batch
    now = utcnow()
    _set(ctx, a, status="running", attempts=MAX_ATTEMPTS, lease_expires_at=now - timedelta(seconds=1))
    requeued = Requeued()
    report = reconcile(ctx, requeued, now=now, pending_grace_seconds=3600)
    assert report.given_up == (a,) and requeued.calls == []
    row = next(r for r in task_rows(ctx, batch_id) if r.task_id == a)
    assert row.status == "failed" and "gave up after 3 attempts" in (row.error or "")
    counts = batch_row(ctx, batch_id)
    assert counts is not None and (counts.failed_tasks, counts.status) == (1, "running")


def test_recovered_lease_runs_once_and_a_duplicate_is_harmless(ctx: AppContext, batch: tuple[str, list[str]]) -> None:
    """A worker died holding task a: the reconciler requeues it, the rerun completes it (attempt 2),
    and the duplicate delivery that follows is skipped."""
    batch_id, (a, b, c) = batch
    huey = make_huey(ctx.settings, context=ctx)
    _set(ctx, a, status="running", attempts=1, lease_expires_at=utcnow() - timedelta(seconds=1))
    enqueue_swap_tasks(huey, [b, c])

    report = run_reconcile(huey, ctx, grace_seconds=0)
    assert report.requeued_expired == (a,) and report.requeued_pending == ()  # b and c are queued
    assert queued_task_ids(huey) == {a, b, c}
    enqueue_swap_tasks(huey, [a])  # and once more, as a second reconciler would
    while (message := huey.dequeue()) is not None:
        huey.execute(message)

    rows = {r.task_id: r for r in task_rows(ctx, batch_id)}
    assert {t: (r.status, r.attempts) for t, r in rows.items()} == {
        a: ("completed", 2),
        b: ("completed", 1),
        c: ("completed", 1),
    }
    assert len({r.result_image_id for r in rows.values()}) == 3
    assert_no_orphans(ctx)


def test_execute_twice_is_skipped_the_second_time(ctx: AppContext, batch: tuple[str, list[str]]) -> None:
    _, (a, _, _) = batch
    first = execute_task(ctx, a)
    second = execute_task(ctx, a)
    assert (first.status, second.status, second.claimed) == ("completed", "skipped", False)
