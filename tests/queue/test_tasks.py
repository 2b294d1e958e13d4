"""app.queue.tasks: the Huey factory, its tasks, retries of transient errors only, the embedded consumer."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from huey import RedisHuey, SqliteHuey

from app.config import Settings
from app.context import AppContext
from app.queue.tasks import (
    QueueNotConfigured,
    enqueue_swap_tasks,
    make_huey,
    queue_tasks,
    queued_task_ids,
    run_swap_task,
)
from db.base import utcnow
from tests.cli_helpers import ROOT
from tests.conftest import make_settings
from tests.fixtures_data import SamplePhotos
from tests.queue.conftest import (
    add_templates,
    assert_no_orphans,
    batch_done,
    batch_row,
    create_batch,
    task_rows,
    wait_until,
)


def test_default_queue_is_sqlite_in_the_data_dir(settings: Settings) -> None:
    huey = make_huey(settings)
    assert isinstance(huey, SqliteHuey)
    assert Path(huey.storage.filename) == settings.resolved_data_dir / "queue.db"
    names = set(huey._registry._registry)
    assert names == {"app.queue.tasks.swap", "app.queue.tasks.reconcile", "app.queue.tasks.cleanup", "app.queue.tasks.crawl"}
    assert {t.__name__ for t in huey._registry._periodic_tasks} == {"reconcile", "cleanup"}


@pytest.mark.redis
def test_redis_url_gives_redis_huey(tmp_path: Path, redis_url: str, queue_name: str) -> None:
    settings = make_settings(tmp_path / "data", REDIS_URL=redis_url, FACESWAP_QUEUE_NAME=queue_name)
    huey = make_huey(settings)
    try:
        assert isinstance(huey, RedisHuey)
        enqueue_swap_tasks(huey, ["a-task", "b-task"])
        assert huey.storage.queue_size() == 2
        assert queued_task_ids(huey) == {"a-task", "b-task"}
        enqueue_swap_tasks(huey, ["later"], delay_seconds=30)
        assert queued_task_ids(huey) == {"a-task", "b-task", "later"}
    finally:
        huey.storage.flush_all()
    assert not (tmp_path / "data" / "queue.db").exists()


def test_each_factory_call_builds_its_own_instance(settings: Settings) -> None:
    first, second = make_huey(settings), make_huey(settings)
    assert first is not second
    assert queue_tasks(first).swap is not queue_tasks(second).swap
    with pytest.raises(QueueNotConfigured):
        queue_tasks(SqliteHuey("plain", filename=str(settings.resolved_data_dir / "other.db")))


def test_importing_tasks_builds_nothing_and_needs_no_gradio() -> None:
    code = (
        "import sys, app.queue.tasks, app.queue.worker, huey\n"
        "instances = [v for v in vars(app.queue.tasks).values() if isinstance(v, huey.Huey)]\n"
        "print('gradio' in sys.modules, len(instances))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "0"]


def test_immediate_mode_runs_a_batch_in_process(
    ctx: AppContext, photos: SamplePhotos, template_files: list[Path]
) -> None:
    template_ids = add_templates(ctx, template_files[:2])
    batch_id = create_batch(ctx, photos, template_ids)
    huey = make_huey(ctx.settings, immediate=True, context=ctx)
    ids = [t.task_id for t in task_rows(ctx, batch_id)]
    enqueue_swap_tasks(huey, ids)
    enqueue_swap_tasks(huey, ids)  # delivered twice: the second run is a no-op
    rows = task_rows(ctx, batch_id)
    assert [(r.status, r.attempts) for r in rows] == [("completed", 1), ("completed", 1)]
    assert len({r.result_image_id for r in rows}) == 2
    batch = batch_row(ctx, batch_id)
    assert batch is not None and (batch.status, batch.completed_tasks) == ("completed", 2)
    assert_no_orphans(ctx)


def test_a_task_whose_row_is_gone_is_skipped(ctx: AppContext) -> None:
    outcome = run_swap_task(ctx, "00000000-0000-0000-0000-000000000000")
    assert outcome is not None and (outcome.status, outcome.claimed) == ("skipped", False)


def test_transient_error_is_retried_by_huey_and_then_succeeds(
    ctx: AppContext, photos: SamplePhotos, template_files: list[Path]
) -> None:
    """A missing photo file (disk hiccup) releases the claim; Huey schedules a retry with backoff."""
    template_ids = add_templates(ctx, template_files[:1])
    batch_id = create_batch(ctx, photos, template_ids)
    huey = make_huey(ctx.settings, context=ctx)
    (task,) = task_rows(ctx, batch_id)
    husband = _photo_path(ctx, task.husband_photo_id)
    hidden = husband.with_suffix(".hidden")
    husband.rename(hidden)

    enqueue_swap_tasks(huey, [task.task_id])
    huey.execute(huey.dequeue())
    (row,) = task_rows(ctx, batch_id)
    assert (row.status, row.attempts, row.lease_expires_at) == ("pending", 1, None)
    assert huey.storage.queue_size() == 0 and huey.storage.schedule_size() == 1
    assert queued_task_ids(huey) == {task.task_id}

    hidden.rename(husband)
    later = utcnow().replace(tzinfo=None) + timedelta(minutes=1)  # move the clock past the delay
    assert huey.read_schedule(later - timedelta(seconds=59)) == []  # not due before the delay
    (retry,) = huey.read_schedule(later)
    assert retry.retries == 2 and retry.retry_delay == 4.0  # backoff doubled the delay
    huey.execute(retry, timestamp=later)
    (row,) = task_rows(ctx, batch_id)
    assert (row.status, row.attempts) == ("completed", 2)
    assert_no_orphans(ctx)


def test_permanent_failure_is_recorded_and_never_retried(
    ctx: AppContext, photos: SamplePhotos, template_files: list[Path]
) -> None:
    template_ids = add_templates(ctx, template_files[:1])
    batch_id = create_batch(ctx, photos, template_ids, session_id="s")
    huey = make_huey(ctx.settings, context=ctx)
    (task,) = task_rows(ctx, batch_id)
    # The template's stored faces say "two faces"; its file is swapped for one without any
    # face, and preprocessing is marked undone so the task detects again: no face → failed.
    from sqlalchemy import update

    from db.models import TemplatePreprocessing
    from db.session import transaction

    with transaction(ctx.sessions) as session:
        session.execute(
            update(TemplatePreprocessing)
            .where(TemplatePreprocessing.template_id == task.template_id)
            .values(preprocessing_status="failed")
        )
    template_file = Path(ctx.settings.images_dir) / _template_image_path(ctx, task.template_id)
    template_file.write_bytes(photos.landscape.read_bytes())

    enqueue_swap_tasks(huey, [task.task_id])
    huey.execute(huey.dequeue())
    (row,) = task_rows(ctx, batch_id)
    assert (row.status, row.attempts) == ("failed", 1)
    assert "no face" in (row.error or "")
    assert huey.storage.queue_size() == 0 and huey.storage.schedule_size() == 0
    batch = batch_row(ctx, batch_id)
    assert batch is not None and (batch.status, batch.failed_tasks) == ("failed", 1)


def test_process_context_is_rebuilt_after_fork(settings: Settings) -> None:
    huey = make_huey(settings)
    state = queue_tasks(huey).context
    parent = state.get()
    reader, writer = multiprocessing.get_context("fork").Pipe(duplex=False)

    def child() -> None:
        ctx = state.get()
        writer.send((ctx is not parent, ctx is state.get()))

    process = multiprocessing.get_context("fork").Process(target=child)
    process.start()
    process.join(timeout=30)
    assert reader.recv() == (True, True)
    assert state.get() is parent
    state.close()


def test_embedded_consumer_runs_batches_in_this_process(
    ctx: AppContext, photos: SamplePhotos, template_files: list[Path]
) -> None:
    from app.queue.worker import needs_embedded_consumer, start_embedded_consumer

    assert needs_embedded_consumer(ctx.settings)
    template_ids = add_templates(ctx, template_files[:3])
    handle = start_embedded_consumer(ctx.settings, context=ctx, periodic=False)
    try:
        producer = make_huey(ctx.settings)  # e.g. the UI's instance
        from app.services import batches, runs

        batch_id = runs.start_from_files(
            ctx,
            str(photos.husband),
            str(photos.wife),
            template_ids,
            {},
            session_id="ui",
            submit=lambda batch_id: enqueue_swap_tasks(producer, batches.pending_task_ids(ctx, batch_id)),
        )
        wait_until(batch_done(ctx, batch_id), 60, "the embedded consumer to finish the batch")
    finally:
        handle.stop()
    assert not handle.alive
    assert [r.status for r in task_rows(ctx, batch_id)] == ["completed"] * 3
    assert_no_orphans(ctx)


def _photo_path(ctx: AppContext, image_id: int) -> Path:
    from db.models import Image

    with ctx.sessions() as session:
        return ctx.settings.images_dir / session.get_one(Image, image_id).path


def _template_image_path(ctx: AppContext, template_id: int) -> str:
    from db.models import Template

    with ctx.sessions() as session:
        return session.get_one(Template, template_id).original_image.path


def test_periodic_tasks_run_and_follow_their_crontab(ctx: AppContext) -> None:
    from datetime import datetime

    from app.queue.tasks import cleanup_schedule

    huey = make_huey(ctx.settings, context=ctx)
    tasks = queue_tasks(huey)
    huey.execute(tasks.reconcile.s())
    huey.execute(tasks.cleanup.s())
    every_quarter = cleanup_schedule(15)
    assert every_quarter(datetime(2026, 1, 1, 10, 30)) and not every_quarter(datetime(2026, 1, 1, 10, 31))
    every_two_hours = cleanup_schedule(120)
    assert every_two_hours(datetime(2026, 1, 1, 10, 0)) and not every_two_hours(datetime(2026, 1, 1, 11, 0))
    assert [t.name for t in huey.read_periodic(datetime(2026, 1, 1, 10, 30))] == ["reconcile", "cleanup"]
    assert [t.name for t in huey.read_periodic(datetime(2026, 1, 1, 10, 31))] == ["reconcile"]
