"""Rename, remove and reprocess templates; the lazy face-data upgrade; first-run seeding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from app.context import AppContext
from app.errors import InvalidRequest, NotFound
from app.services import preprocessing, runs, seeding, sessions, template_admin
from app.services import templates as template_service
from app.services.templates import EVERYONE
from db.models import SwapTask, Image, Template, TemplatePreprocessing
from pipeline.face import FaceEngine
from tests.fixtures_data import SamplePhotos


def _files(ctx: AppContext) -> set[Path]:
    return {p for p in ctx.settings.images_dir.rglob("*") if p.is_file()}


def _row(ctx: AppContext, template_id: int) -> TemplatePreprocessing:
    with ctx.sessions() as session:
        return session.execute(
            select(TemplatePreprocessing).where(TemplatePreprocessing.template_id == template_id)
        ).scalar_one()


class _BrokenEngine:
    """The real engine whose detection fails, as a new engine version that cannot load would."""

    def __init__(self, engine: FaceEngine, version: str) -> None:
        self._engine = engine
        self.name = engine.name
        self.face_data_version = version
        self.provider = engine.provider

    def warmup(self) -> None:
        pass

    def detect(self, image: Any) -> Any:
        raise RuntimeError("the new model file is corrupt")


class _NewVersion(_BrokenEngine):
    def detect(self, image: Any) -> Any:
        return self._engine.detect(image)


def test_rename(ctx: AppContext, photos: SamplePhotos) -> None:
    template_id = template_service.add_template_files(ctx, [str(photos.pair)])[0].id
    assert template_admin.rename_template(ctx, template_id, "  Beach   wedding ").name == "Beach wedding"
    with pytest.raises(InvalidRequest, match="cannot be empty"):
        template_admin.rename_template(ctx, template_id, "   ")
    with pytest.raises(NotFound):
        template_admin.rename_template(ctx, 999, "x")
    with pytest.raises(InvalidRequest, match="only the operator"):
        template_admin.rename_template(ctx, template_id, "mine now", viewer=sessions.new_session_id())


def test_remove_deletes_rows_image_mask_and_keeps_results(ctx: AppContext, photos: SamplePhotos) -> None:
    keep = template_service.add_template_files(ctx, [str(photos.t1)])[0].id
    files_with_one = _files(ctx)
    doomed = template_service.add_template_files(ctx, [str(photos.pair)])[0].id
    template_files = _files(ctx) - files_with_one
    assert len(template_files) == 2  # original and mask
    batch_id = runs.start_from_files(ctx, str(photos.husband), str(photos.wife), [keep, doomed], {}, session_id="cli")
    runs.run_inline(ctx, batch_id)
    with ctx.sessions() as session:
        result_ids = set(session.execute(select(SwapTask.result_image_id)).scalars())

    [removed] = template_admin.remove_templates(ctx, [doomed])

    assert (removed.template_id, removed.files_removed, removed.results_kept) == (doomed, 2, 1)
    assert not any(path.exists() for path in template_files)
    with ctx.sessions() as session:
        assert session.execute(select(Template.id)).scalars().all() == [keep]
        assert session.execute(select(TemplatePreprocessing.template_id)).scalars().all() == [keep]
        kept_results = set(session.execute(select(Image.id).where(Image.id.in_(result_ids))).scalars())
        assert kept_results == result_ids  # both results stay, rows and files
        paths = [session.get_one(Image, i).path for i in result_ids]
    assert all((ctx.settings.images_dir / p).is_file() for p in paths)
    report = sessions.my_batch_report(ctx, "cli", batch_id)
    assert report.total == 1 and [r.template_id for r in report.results] == [keep]


def test_remove_is_refused_while_a_task_needs_the_template(ctx: AppContext, photos: SamplePhotos) -> None:
    template_id = template_service.add_template_files(ctx, [str(photos.pair)])[0].id
    other = template_service.add_template_files(ctx, [str(photos.t1)])[0].id
    runs.start_from_files(ctx, str(photos.husband), str(photos.wife), [template_id], {}, session_id="cli")
    files = _files(ctx)
    with pytest.raises(template_admin.TemplateInUse, match=rf"template {template_id} \(1 pending or running\)"):
        template_admin.remove_templates(ctx, [other, template_id])
    assert _files(ctx) == files  # all or nothing: `other` stays too
    assert template_service.get_template(ctx, other, viewer=EVERYONE).id == other


def test_a_visitor_removes_only_their_own(ctx: AppContext, photos: SamplePhotos) -> None:
    shared = template_service.add_template_files(ctx, [str(photos.t1)])[0].id
    alice = sessions.new_session_id()
    decoded = template_service.decode_upload(ctx, photos.pair.read_bytes())
    mine = template_service.add_template_image(ctx, decoded, name="ours", private_to=alice).id
    with pytest.raises(InvalidRequest, match="shared; only the operator"):
        template_admin.remove_templates(ctx, [shared], viewer=alice)
    with pytest.raises(NotFound):
        template_admin.remove_templates(ctx, [mine], viewer=sessions.new_session_id())
    assert [r.template_id for r in template_admin.remove_templates(ctx, [mine], viewer=alice)] == [mine]


def test_reprocess_keeps_ids_and_names_and_replaces_face_data_and_mask(ctx: AppContext, photos: SamplePhotos) -> None:
    template_id = template_service.add_template_files(ctx, [str(photos.pair)], name="pair")[0].id
    before = _row(ctx, template_id)
    [(same_id, summary, reason)] = template_admin.reprocess_templates(ctx)
    after = _row(ctx, template_id)
    assert (same_id, reason) == (template_id, None) and summary is not None and summary.name == "pair"
    assert after.masked_image_id != before.masked_image_id
    with ctx.sessions() as session:
        assert session.get(Image, before.masked_image_id) is None  # the old mask went, row and file
    assert len(_files(ctx)) == 2


def test_a_failed_reprocess_loses_nothing(ctx: AppContext, photos: SamplePhotos, classic: FaceEngine) -> None:
    template_id = template_service.add_template_files(ctx, [str(photos.pair)])[0].id
    before, files = _row(ctx, template_id), _files(ctx)
    ctx.use_face_engine(_BrokenEngine(classic, "classic-99"))  # type: ignore[arg-type]
    [(_, summary, reason)] = template_admin.reprocess_templates(ctx, [template_id])
    assert summary is None and "corrupt" in (reason or "") and "kept as it was" in (reason or "")
    after = _row(ctx, template_id)
    assert (after.face_data, after.masked_image_id, after.preprocessing_status) == (
        before.face_data,
        before.masked_image_id,
        "completed",
    )
    assert _files(ctx) == files
    # the lazy upgrade with the broken engine keeps the old data as well, and the swap still works
    assert template_service.ensure_current(ctx, template_id) is False


def test_stale_face_data_is_redone_on_first_use(ctx: AppContext, photos: SamplePhotos, classic: FaceEngine) -> None:
    template_id = template_service.add_template_files(ctx, [str(photos.pair)])[0].id
    assert preprocessing.face_data_version(_row(ctx, template_id).face_data) == classic.face_data_version
    ctx.use_face_engine(_NewVersion(classic, "classic-2"))  # type: ignore[arg-type]
    assert template_service.stored_faces(ctx, template_id) is not None  # first use: upgraded
    assert preprocessing.face_data_version(_row(ctx, template_id).face_data) == "classic-2"
    assert template_service.ensure_current(ctx, template_id) is False  # once only


def test_a_worker_upgrades_stale_face_data_before_swapping(
    ctx: AppContext, photos: SamplePhotos, classic: FaceEngine
) -> None:
    template_id = template_service.add_template_files(ctx, [str(photos.pair)])[0].id
    batch_id = runs.start_from_files(ctx, str(photos.husband), str(photos.wife), [template_id], {}, session_id="cli")
    with ctx.sessions.begin() as session:  # made by an older engine version than today's
        row = session.execute(select(TemplatePreprocessing)).scalar_one()
        session.execute(
            update(TemplatePreprocessing)
            .where(TemplatePreprocessing.id == row.id)
            .values(face_data=[{**r, "face_data_version": "classic-0"} for r in row.face_data or []])
        )
    runs.run_inline(ctx, batch_id)
    assert sessions.my_batch_report(ctx, "cli", batch_id).status == "completed"
    assert preprocessing.face_data_version(_row(ctx, template_id).face_data) == classic.face_data_version


def test_seeding_happens_once_and_never_after_removal(ctx: AppContext) -> None:
    report = seeding.seed_shared_gallery(ctx)
    assert report.status == "seeded" and len(report.template_ids) == 2, report
    listed = template_service.list_templates(ctx)
    assert [t.name for t in listed] == ["Six friends", "Astronaut"]
    assert all(t.status == "completed" and not t.private for t in listed)
    assert len(listed[0].faces) == 6
    template_admin.remove_templates(ctx, report.template_ids)
    again = seeding.seed_shared_gallery(ctx)
    assert again.status == "skipped" and "already done once" in again.reason
    assert template_service.list_templates(ctx) == []


def test_seeding_skips_a_gallery_with_templates_and_can_be_switched_off(
    ctx: AppContext, photos: SamplePhotos
) -> None:
    ctx.settings = ctx.settings.model_copy(update={"seed_templates": False})
    assert "switched off" in seeding.seed_shared_gallery(ctx).reason
    ctx.settings = ctx.settings.model_copy(update={"seed_templates": True})
    template_service.add_template_files(ctx, [str(photos.pair)])
    assert seeding.seed_shared_gallery(ctx).reason == "the shared gallery is not empty"
    assert seeding.marker_path(ctx).exists()
