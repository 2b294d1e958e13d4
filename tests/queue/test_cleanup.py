"""Expiry cleanup and "delete my data now": rows and files go together; in-use photos stay."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from app.context import AppContext
from app.services import runs
from app.services.batches import execute_task
from app.services.cleanup import CLEANUP_LOCK_KEY, cleanup_expired, delete_session_data
from db.base import utcnow
from db.models import Batch, SwapTask, Image, Template
from pipeline.face import FaceEngine
from tests.fixtures_data import SamplePhotos
from tests.queue.conftest import (
    InterruptingEngine,
    add_templates,
    assert_no_orphans,
    create_batch,
    task_rows,
)

TTL = timedelta(hours=24)


def _count(ctx: AppContext, model: type, *where: object) -> int:
    with ctx.sessions() as session:
        return int(session.execute(select(func.count()).select_from(model).where(*where)).scalar_one())


def _files(ctx: AppContext, kind: str) -> list[Path]:
    return [p for p in (ctx.settings.images_dir / kind).rglob("*") if p.is_file()]


def _finished_batch(ctx: AppContext, photos: SamplePhotos, template_ids: list[int], session_id: str) -> str:
    batch_id = create_batch(ctx, photos, template_ids, session_id=session_id)
    runs.run_inline(ctx, batch_id)
    return batch_id


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_ctx(request: pytest.FixtureRequest) -> AppContext:
    return request.getfixturevalue("ctx" if request.param == "sqlite" else "pg_ctx")


def test_expired_photos_results_batches_and_tasks_go_templates_stay(
    any_ctx: AppContext, photos: SamplePhotos, template_files: list[Path]
) -> None:
    ctx = any_ctx
    template_ids = add_templates(ctx, template_files[:2])
    batch_id = _finished_batch(ctx, photos, template_ids, "alice")
    templates_before = _count(ctx, Image, Image.storage_type == "permanent")
    assert len(_files(ctx, "results")) == 2 and len(_files(ctx, "photos")) == 2

    early = cleanup_expired(ctx, now=utcnow() + TTL - timedelta(minutes=1))
    assert not early.changed

    report = cleanup_expired(ctx, now=utcnow() + TTL + timedelta(minutes=1))  # the clock moves on
    assert (report.images, report.files_removed, report.batches, report.tasks) == (4, 4, 1, 2)
    assert report.kept_in_use == 0 and report.skipped is None
    assert _files(ctx, "results") == [] and _files(ctx, "photos") == []
    assert _count(ctx, Batch) == 0 and _count(ctx, SwapTask) == 0
    assert _count(ctx, Image, Image.storage_type == "temporary") == 0
    assert _count(ctx, Image, Image.storage_type == "permanent") == templates_before
    assert _count(ctx, Template) == 2
    assert task_rows(ctx, batch_id) == []
    assert_no_orphans(ctx)
    assert "deleted 4 images (4 files), 1 batches, 2 tasks" in report.summary()


def test_photos_a_pending_task_needs_are_kept_until_it_is_done(
    ctx: AppContext, photos: SamplePhotos, template_files: list[Path]
) -> None:
    template_ids = add_templates(ctx, template_files[:2])
    batch_id = create_batch(ctx, photos, template_ids, session_id="bob")
    first, second = task_rows(ctx, batch_id)
    execute_task(ctx, first.task_id)  # one done, one still pending
    later = utcnow() + TTL + timedelta(hours=1)

    kept = cleanup_expired(ctx, now=later)
    assert (kept.batches, kept.tasks) == (0, 0)
    assert kept.kept_in_use == 3  # both photos and the finished task's result
    assert len(_files(ctx, "photos")) == 2

    execute_task(ctx, second.task_id)
    done = cleanup_expired(ctx, now=later)
    assert (done.batches, done.tasks, done.images) == (1, 2, 4)
    assert_no_orphans(ctx)


def test_permanent_photos_never_expire(ctx: AppContext, photos: SamplePhotos, template_files: list[Path]) -> None:
    from app.services.photos import prepare_photo_file, store_photos

    store_photos(ctx, [prepare_photo_file(ctx, str(photos.husband), "husband")], session_id="carol", keep=True)
    report = cleanup_expired(ctx, now=utcnow() + timedelta(days=3650))
    assert report.images == 0
    assert len(_files(ctx, "photos")) == 1


@pytest.mark.postgres
def test_only_one_cleaner_runs_at_a_time_on_postgresql(
    pg_ctx: AppContext, photos: SamplePhotos, template_files: list[Path]
) -> None:
    template_ids = add_templates(pg_ctx, template_files[:1])
    _finished_batch(pg_ctx, photos, template_ids, "dave")
    later = utcnow() + TTL + timedelta(minutes=5)
    with pg_ctx.db_engine.connect() as other:
        assert other.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": CLEANUP_LOCK_KEY}).scalar()
        blocked = cleanup_expired(pg_ctx, now=later)
        other.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": CLEANUP_LOCK_KEY})
        other.commit()
    assert blocked.skipped == "another cleanup is running" and not blocked.changed
    assert cleanup_expired(pg_ctx, now=later).images == 3
    assert_no_orphans(pg_ctx)


def test_concurrent_cleaners_on_sqlite_delete_each_row_once(
    ctx: AppContext, photos: SamplePhotos, template_files: list[Path]
) -> None:
    template_ids = add_templates(ctx, template_files[:2])
    for session_id in ("e1", "e2", "e3"):
        _finished_batch(ctx, photos, template_ids, session_id)
    later = utcnow() + TTL + timedelta(minutes=5)
    reports = []
    errors: list[BaseException] = []

    def clean() -> None:
        try:
            reports.append(cleanup_expired(ctx, now=later))
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=clean) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sum(r.images for r in reports) == 12 and sum(r.files_removed for r in reports) == 12
    assert sum(r.batches for r in reports) == 3
    assert_no_orphans(ctx)


def test_delete_session_data_removes_one_session_and_leaves_the_others(
    any_ctx: AppContext, photos: SamplePhotos, template_files: list[Path]
) -> None:
    ctx = any_ctx
    template_ids = add_templates(ctx, template_files[:2])
    _finished_batch(ctx, photos, template_ids, "frank")
    other_batch = _finished_batch(ctx, photos, template_ids, "grace")
    pending_batch = create_batch(ctx, photos, template_ids, session_id="frank")  # not run yet
    pending_ids = [t.task_id for t in task_rows(ctx, pending_batch)]

    report = delete_session_data(ctx, "frank")
    assert (report.batches, report.tasks, report.cancelled_tasks) == (2, 4, 2)
    assert report.images == 6 and report.files_removed == 6  # 4 photos, 2 results
    assert _count(ctx, Image, Image.session_id == "frank") == 0
    assert _count(ctx, Batch, Batch.session_id == "frank") == 0
    assert [t.status for t in task_rows(ctx, other_batch)] == ["completed", "completed"]
    # A queued task of the deleted session arrives later: its row is gone, it is skipped.
    assert execute_task(ctx, pending_ids[0]).status == "skipped"
    assert_no_orphans(ctx)


def test_a_running_task_of_a_deleted_session_writes_nothing(
    ctx: AppContext, photos: SamplePhotos, template_files: list[Path], classic: FaceEngine
) -> None:
    """The user deletes everything while a worker is in the middle of the swap."""
    template_ids = add_templates(ctx, template_files[:1])
    batch_id = create_batch(ctx, photos, template_ids, session_id="heidi")
    (task,) = task_rows(ctx, batch_id)
    reports = []
    ctx.use_face_engine(InterruptingEngine(classic, lambda: reports.append(delete_session_data(ctx, "heidi"))))

    outcome = execute_task(ctx, task.task_id)
    assert (outcome.status, outcome.claimed) == ("skipped", False)
    assert reports[0].cancelled_tasks == 1 and reports[0].images == 2
    assert _files(ctx, "results") == [] and _files(ctx, "photos") == []
    assert_no_orphans(ctx)
