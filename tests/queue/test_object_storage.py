"""The app in S3 mode (a real SeaweedFS): every image in the bucket and none in the data dir;
"delete my data" and expiry remove the objects and the cached copies."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.context import AppContext
from app.objects import S3Objects
from app.services import runs
from app.services.cleanup import cleanup_expired, delete_session_data
from db.base import utcnow
from db.models import Image
from pipeline.face import FaceEngine
from tests.conftest import make_settings, open_context
from tests.fixtures_data import SamplePhotos
from tests.queue.conftest import add_templates, create_batch, image_files_outside_cache


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
