"""Templates: dedupe by sha256, preprocessing states, faceless templates recorded as failed."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.context import AppContext
from app.services import templates
from db.models import Image, Template, TemplatePreprocessing
from pipeline.errors import ImageRejected
from tests.fixtures_data import SamplePhotos


def _files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def test_add_preprocesses_and_orders_faces_left_to_right(ctx: AppContext, photos: SamplePhotos) -> None:
    [summary] = templates.add_template_files(ctx, [str(photos.t1)], name="six")
    assert summary.status == "completed"
    assert len(summary.faces) == 6
    xs = [face["bbox"][0] for face in summary.faces]
    assert xs == sorted(xs)
    assert summary.male_face_count + summary.female_face_count == 6
    with ctx.sessions() as session:
        row = session.execute(select(TemplatePreprocessing)).scalar_one()
        assert row.preprocessing_status == "completed"
        assert row.masked_image_id is not None
        assert len(row.face_data or []) == 6 and "mask" in row.face_data[0]
        assert session.get_one(Template, summary.id).is_preprocessed


def test_duplicate_is_not_stored_twice(ctx: AppContext, photos: SamplePhotos) -> None:
    first = templates.add_template_files(ctx, [str(photos.pair)])[0]
    files_before = _files_under(ctx.settings.images_dir)
    second = templates.add_template_files(ctx, [str(photos.pair)])[0]
    assert second.duplicate and second.id == first.id
    assert _files_under(ctx.settings.images_dir) == files_before
    with ctx.sessions() as session:
        assert session.execute(select(func.count()).select_from(Template)).scalar() == 1


def test_faceless_template_is_failed_with_reason(ctx: AppContext, photos: SamplePhotos) -> None:
    [summary] = templates.add_template_files(ctx, [str(photos.landscape)])
    assert summary.status == "failed"
    assert summary.error == "no face found in the template"
    assert templates.stored_faces(ctx, summary.id) is None


def test_one_bad_file_writes_nothing(ctx: AppContext, photos: SamplePhotos, tmp_path: Path) -> None:
    fake = tmp_path / "fake.jpg"
    fake.write_text("not an image")
    with pytest.raises(ImageRejected):
        templates.add_template_files(ctx, [str(photos.pair), str(fake)])
    with ctx.sessions() as session:
        assert session.execute(select(func.count()).select_from(Image)).scalar() == 0
    assert _files_under(ctx.settings.images_dir) == set()
