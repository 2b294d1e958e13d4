"""The app in S3 mode (a real SeaweedFS): every image in the bucket and none in the data dir;
"delete my data" and expiry remove the objects and the cached copies; a task's one storage call is
the PUT of its result, between its fence and its commit."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import obstore
import pytest
from sqlalchemy import event, select

from app.context import AppContext
from app.objects import S3Objects
from app.services import runs
from app.services.batches import TransientTaskError, execute_task
from app.services.cleanup import cleanup_expired, delete_session_data
from db.base import utcnow
from db.models import Image
from pipeline.face import FaceEngine
from pipeline.intake import sha256_hex
from tests.conftest import make_settings, open_context
from tests.fixtures_data import SamplePhotos
from tests.queue.conftest import add_templates, create_batch, image_files_outside_cache, task_rows


@pytest.fixture
def s3_ctx(tmp_path: Path, classic: FaceEngine, s3_env: dict[str, str]) -> Iterator[AppContext]:
    context = open_context(make_settings(tmp_path / "data", **s3_env), classic)
    yield context
    context.dispose()


def test_in_s3_mode_every_image_lives_in_the_bucket_and_deletion_removes_objects_and_copies(
    s3_ctx: AppContext, photos: SamplePhotos, template_files: list[Path]
) -> None:
    ctx = s3_ctx
    assert isinstance(ctx.image_store.objects, S3Objects)
    template_ids = add_templates(ctx, template_files[:2])
    batch_id = create_batch(ctx, photos, template_ids, session_id="alice")
    runs.run_inline(ctx, batch_id)
    objects = ctx.image_store.objects
    with ctx.sessions() as session:
        keys = set(session.execute(select(Image.path)).scalars())
    kinds = {key.split("/", 1)[0] for key in keys}
    assert kinds == {"templates", "masks", "photos", "results"}
    assert {o.key for o in objects.listing()} == keys
    assert image_files_outside_cache(ctx.settings.resolved_data_dir) == []

    report = delete_session_data(ctx, "alice")
    assert report.images == 4 and report.files_removed == 4
    remaining = {o.key for o in objects.listing()}
    assert not any(key.startswith(("photos/", "results/")) for key in remaining)
    cached = {p.relative_to(objects.cache.root).as_posix() for p in objects.cache.root.rglob("*") if p.is_file()}
    assert not any(key.startswith(("photos/", "results/")) for key in cached)


def test_in_s3_mode_expiry_removes_the_objects(
    s3_ctx: AppContext, photos: SamplePhotos, template_files: list[Path]
) -> None:
    ctx = s3_ctx
    template_ids = add_templates(ctx, template_files[:1])
    runs.run_inline(ctx, create_batch(ctx, photos, template_ids, session_id="bob"))
    report = cleanup_expired(ctx, now=utcnow() + timedelta(hours=25))
    assert (report.images, report.files_removed) == (3, 3)
    assert not [o for o in ctx.image_store.objects.listing() if o.key.startswith(("photos/", "results/"))]


class StorageCalls:
    """Every obstore call of the process, in order, each passed on to the real server; the result's
    PUT is slowed down so that a commit that did not wait for it would come first."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, events: list[str], slow_put_seconds: float) -> None:
        self.calls: list[tuple[str, str]] = []
        self.events = events
        for name in ("put", "get", "head", "list", "delete"):
            monkeypatch.setattr(obstore, name, self._spy(name, getattr(obstore, name), slow_put_seconds))

    def _spy(self, name: str, real: Any, slow_put_seconds: float) -> Any:
        def call(store: Any, path: str | None = None, *args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, str(path)))
            if name != "put" or not str(path).startswith("results/"):
                return real(store, path, *args, **kwargs)
            self.events.append("put started")
            time.sleep(slow_put_seconds)
            try:
                return real(store, path, *args, **kwargs)
            finally:
                self.events.append("put stored")

        return call


def _watch_the_completion(ctx: AppContext, events: list[str]) -> None:
    def statement(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if sql.startswith("UPDATE faceswap_tasks SET face_mappings"):
            events.append("fenced")

    event.listen(ctx.db_engine, "before_cursor_execute", statement)
    event.listen(ctx.db_engine, "commit", lambda _conn: events.append("commit"))


def test_a_task_puts_its_result_once_after_its_fence_and_commits_only_once_it_is_stored(
    s3_ctx: AppContext, photos: SamplePhotos, template_files: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = s3_ctx
    template_ids = add_templates(ctx, template_files[:1])
    batch_id = create_batch(ctx, photos, template_ids, session_id="ivan")
    (task,) = task_rows(ctx, batch_id)
    events: list[str] = []
    calls = StorageCalls(monkeypatch, events, slow_put_seconds=0.3)
    _watch_the_completion(ctx, events)

    assert execute_task(ctx, task.task_id).status == "completed"
    (row,) = task_rows(ctx, batch_id)
    with ctx.sessions() as session:
        result = session.get_one(Image, row.result_image_id)
    # The inputs were stored by this process (cached copies): the task's only storage call is one PUT,
    # no listing, no existence check, no download.
    assert calls.calls == [("put", result.path)]
    # Fence first, object second, commit last: the claim commits, then the completion.
    assert events == ["commit", "fenced", "put started", "put stored", "commit"]
    objects = ctx.image_store.objects
    assert isinstance(objects, S3Objects)
    assert not objects.cache.path(result.path).exists()  # this worker never reads its result back
    assert sha256_hex(objects.get(result.path)) == result.sha256  # fetched (and cached) for a reader


def test_a_failed_put_commits_no_completion_and_the_retry_stores_the_result_once(
    s3_ctx: AppContext,
    photos: SamplePhotos,
    template_files: list[Path],
    classic: FaceEngine,
    s3_env: dict[str, str],
) -> None:
    """A worker on the same machine (same data dir, so its inputs are cached) whose writes the bucket
    refuses: its task is released, no row or object is left, and the next worker completes it."""
    ctx = s3_ctx
    template_ids = add_templates(ctx, template_files[:1])
    batch_id = create_batch(ctx, photos, template_ids, session_id="judy")
    (task,) = task_rows(ctx, batch_id)
    refused = open_context(
        make_settings(ctx.settings.data_dir, **{**s3_env, "AWS_SECRET_ACCESS_KEY": "not-the-secret"}), classic
    )
    try:
        with pytest.raises(TransientTaskError):
            execute_task(refused, task.task_id)
    finally:
        refused.dispose()
    (row,) = task_rows(ctx, batch_id)
    assert (row.status, row.attempts, row.result_image_id) == ("pending", 1, None)
    objects = ctx.image_store.objects
    with ctx.sessions() as session:
        assert not list(session.execute(select(Image.path).where(Image.path.like("results/%"))).scalars())
    assert not [o.key for o in objects.listing("results/")]

    assert execute_task(ctx, task.task_id).status == "completed"
    (row,) = task_rows(ctx, batch_id)
    assert (row.status, row.attempts) == ("completed", 2)
    with ctx.sessions() as session:
        stored = session.get_one(Image, row.result_image_id)
    assert [o.key for o in objects.listing("results/")] == [stored.path]
