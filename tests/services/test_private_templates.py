"""Private templates: per-session visibility in the service layer, swaps, cleanup, quotas, public mode."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from app.context import AppContext
from app.errors import NotFound
from app.services import batches, cleanup, crawl, public_demo, runs, sessions, uploads
from app.services import templates as template_service
from app.services.quotas import QuotaExceeded
from app.services.templates import EVERYONE
from db.base import utcnow
from db.models import Image, Template, TemplatePreprocessing
from tests.fixtures_data import SamplePhotos


def _public(ctx: AppContext, **limits: object) -> AppContext:
    ctx.settings = ctx.settings.model_copy(update={"public_demo": True, **limits})
    return ctx


def _read(path: str) -> bytes:
    return Path(path).read_bytes()


def _add_private(ctx: AppContext, sid: str, path: Path, name: str = "ours") -> int:
    [outcome] = public_demo.add_templates_for(ctx, [str(path)], session_id=sid, name=name, read=_read)
    assert outcome.refusal is None and outcome.summary is not None, outcome.refusal
    return outcome.summary.id


def _files(ctx: AppContext) -> set[Path]:
    return {p for p in ctx.settings.images_dir.rglob("*") if p.is_file()}


def test_a_private_template_is_seen_and_used_by_its_session_only(ctx: AppContext, photos: SamplePhotos) -> None:
    _public(ctx)
    shared = template_service.add_template_files(ctx, [str(photos.t1)], name="shared six")[0].id
    alice, bob = sessions.new_session_id(), sessions.new_session_id()
    mine = _add_private(ctx, alice, photos.pair)

    summary = template_service.get_template(ctx, mine, viewer=alice)
    assert summary.private and summary.status == "completed" and len(summary.faces) >= 2
    assert [t.id for t in template_service.list_templates(ctx, viewer=alice)] == [shared, mine]
    assert [t.id for t in template_service.list_templates(ctx, viewer=bob)] == [shared]
    assert [t.id for t in template_service.list_templates(ctx)] == [shared]  # no session: shared only
    assert [t.id for t in template_service.list_templates(ctx, viewer=EVERYONE)] == [shared, mine]
    for read in (template_service.get_template, template_service.template_pixels, template_service.stored_faces):
        with pytest.raises(NotFound, match=f"template {mine} does not exist"):
            read(ctx, mine, viewer=bob)
    with pytest.raises(NotFound, match=rf"template\(s\) \[{mine}\] do not exist"):
        batches.validate_templates(ctx, [shared, mine], {}, viewer=bob)
    with pytest.raises(NotFound):
        runs.start_from_files(ctx, str(photos.husband), str(photos.wife), [mine], {}, session_id=bob)

    batch_id = runs.start_from_files(ctx, str(photos.husband), str(photos.wife), [mine], {}, session_id=alice)
    runs.run_inline(ctx, batch_id)
    report = sessions.my_batch_report(ctx, alice, batch_id)
    assert report.status == "completed", report
    assert report.results[0].template_name == "ours"


def test_the_same_image_from_two_visitors_makes_two_private_templates(ctx: AppContext, photos: SamplePhotos) -> None:
    _public(ctx)
    alice, bob = sessions.new_session_id(), sessions.new_session_id()
    first = _add_private(ctx, alice, photos.pair)
    second = _add_private(ctx, bob, photos.pair)
    assert first != second  # bob learns nothing about alice's upload
    again = public_demo.add_templates_for(ctx, [str(photos.pair)], session_id=alice, read=_read)[0].summary
    assert again is not None and again.duplicate and again.id == first
    shared = template_service.add_template_files(ctx, [str(photos.t1)])[0].id
    from_shared = public_demo.add_templates_for(ctx, [str(photos.t1)], session_id=bob, read=_read)[0].summary
    assert from_shared is not None and from_shared.duplicate and from_shared.id == shared


def test_local_mode_uploads_stay_shared(ctx: AppContext, photos: SamplePhotos) -> None:
    sid = sessions.new_session_id()
    [outcome] = public_demo.add_templates_for(ctx, [str(photos.pair)], session_id=sid, read=_read)
    summary = outcome.summary
    assert summary is not None and not summary.private
    assert [t.id for t in template_service.list_templates(ctx, viewer=sessions.new_session_id())] == [summary.id]


def test_delete_my_data_removes_private_templates_with_mask_and_results(
    ctx: AppContext, photos: SamplePhotos
) -> None:
    _public(ctx)
    alice = sessions.new_session_id()
    shared = template_service.add_template_files(ctx, [str(photos.t1)])[0].id
    files_before = _files(ctx)
    mine = _add_private(ctx, alice, photos.pair)
    batch_id = runs.start_from_files(ctx, str(photos.husband), str(photos.wife), [mine], {}, session_id=alice)
    runs.run_inline(ctx, batch_id)
    assert len(_files(ctx) - files_before) == 5  # original, mask, two photos, one result

    report = cleanup.delete_session_data(ctx, alice)

    assert report.templates == 1 and "1 private templates" in report.summary()
    assert _files(ctx) == files_before
    with ctx.sessions() as session:
        assert session.execute(select(Template.id)).scalars().all() == [shared]
        assert session.execute(select(func.count()).select_from(TemplatePreprocessing)).scalar_one() == 1


def test_expired_private_templates_are_cleaned_up(ctx: AppContext, photos: SamplePhotos) -> None:
    _public(ctx)
    alice = sessions.new_session_id()
    mine = _add_private(ctx, alice, photos.pair)
    with ctx.sessions.begin() as session:
        session.execute(update(Image).where(Image.session_id == alice).values(expires_at=utcnow() - timedelta(hours=1)))
    report = cleanup.cleanup_expired(ctx, utcnow())
    assert report.templates == 1 and report.images == 2 and report.files_removed == 2
    with pytest.raises(NotFound):
        template_service.get_template(ctx, mine, viewer=EVERYONE)
    assert _files(ctx) == set()


def test_quota_of_private_templates(ctx: AppContext, photos: SamplePhotos, tmp_path: Path) -> None:
    _public(ctx, max_private_templates=1)
    sid = sessions.new_session_id()
    _add_private(ctx, sid, photos.pair)
    with pytest.raises(QuotaExceeded, match=r"you have 1 private templates and may keep at most 1 \(none more\)"):
        public_demo.add_templates_for(ctx, [str(photos.t1)], session_id=sid, read=_read)
    _add_private(ctx, sessions.new_session_id(), photos.t1)  # another visitor has their own allowance


def test_quota_of_uploads_an_hour(ctx: AppContext, photos: SamplePhotos) -> None:
    _public(ctx, max_uploads_per_hour=3)
    sid = sessions.new_session_id()
    uploads.upload_photo(ctx, str(photos.husband), role="husband", session_id=sid, keep=False)
    _add_private(ctx, sid, photos.pair)
    uploads.upload_photo(ctx, str(photos.wife), role="wife", session_id=sid, keep=False)
    with pytest.raises(QuotaExceeded, match=r"uploaded 3 photos in the last hour; a visitor may upload 3 an hour"):
        uploads.upload_photo(ctx, str(photos.wife), role="wife", session_id=sid, keep=False)
    sessions.delete_my_data(ctx, sid)  # deleting does not give the uploads back
    with pytest.raises(QuotaExceeded, match="Try again in 60 minutes"):
        _add_private(ctx, sid, photos.pair)


def test_crawling_is_refused_to_visitors_in_public_mode(ctx: AppContext) -> None:
    started: list[int] = []
    _public(ctx)
    with pytest.raises(public_demo.VisitorRefused, match="switched off in this public demo"):
        crawl.start_crawl(ctx, "https://example.com/gallery", started.append)
    assert started == []
    with ctx.sessions() as session:
        from db.models import CrawlTask

        assert session.execute(select(func.count()).select_from(CrawlTask)).scalar_one() == 0


def test_the_banner_says_what_is_kept_and_for_how_long(ctx: AppContext) -> None:
    assert public_demo.banner(ctx) is None
    _public(ctx, temporary_ttl_hours=6)
    text = public_demo.banner(ctx) or ""
    assert "Public demo" in text and "deleted after 6 hours" in text and "10 own templates" in text


def test_deleted_photos_leave_no_decoded_copy_in_the_process(ctx: AppContext, photos: SamplePhotos) -> None:
    from pipeline.classic import ClassicEngine

    engine = ctx.face_engine()
    assert isinstance(engine, ClassicEngine)
    alice = sessions.new_session_id()
    template = template_service.add_template_files(ctx, [str(photos.t1)])[0].id
    batch_id = runs.start_from_files(ctx, str(photos.husband), str(photos.wife), [template], {}, session_id=alice)
    runs.run_inline(ctx, batch_id)
    assert engine.kept_sources == 2 and len(ctx.image_cache) >= 2

    cleanup.delete_session_data(ctx, alice)

    assert engine.kept_sources == 0 and len(ctx.image_cache) == 0
