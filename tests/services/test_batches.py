"""Batches run inline: statuses, counts, deterministic results, mapping overrides, expiry inheritance."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from app.context import AppContext
from app.services import batches, runs, templates
from db.models import Batch, SwapTask, Image
from pipeline.errors import MappingError
from tests.fixtures_data import SamplePhotos


def _templates(ctx: AppContext, photos: SamplePhotos) -> tuple[int, int]:
    pair = templates.add_template_files(ctx, [str(photos.pair)])[0]
    blank = templates.add_template_files(ctx, [str(photos.landscape)])[0]
    return pair.id, blank.id


def test_batch_with_a_faceless_template_is_partial(ctx: AppContext, photos: SamplePhotos) -> None:
    pair_id, blank_id = _templates(ctx, photos)
    batch_id = runs.start_from_files(ctx, str(photos.husband), str(photos.wife), [pair_id, blank_id], {})
    runs.run_inline(ctx, batch_id)
    report = batches.batch_report(ctx, batch_id)
    assert report.status == "partial"
    assert (report.completed, report.failed, report.total) == (1, 1, 2)
    done, failed = report.results
    assert done.status == "completed" and str(done.output).endswith(f"{done.task_id}.jpg")
    assert {f["role"] for f in done.faces} >= {"husband", "wife"}
    assert failed.status == "failed" and "no face" in str(failed.error)


def test_rerun_of_a_done_task_makes_no_second_result(ctx: AppContext, photos: SamplePhotos) -> None:
    pair_id, _ = _templates(ctx, photos)
    batch_id = runs.start_from_files(ctx, str(photos.husband), str(photos.wife), [pair_id], {})
    runs.run_inline(ctx, batch_id)
    with ctx.sessions() as session:
        task_id = session.execute(select(SwapTask.task_id)).scalar_one()
    again = batches.execute_task(ctx, task_id)
    assert again.status == "skipped" and not again.claimed
    with ctx.sessions() as session:
        results = session.execute(select(func.count()).select_from(Image).where(Image.path.like("results/%"))).scalar()
        assert results == 1
        assert session.execute(select(SwapTask.attempts)).scalar_one() == 1


def test_override_is_used_and_stored(ctx: AppContext, photos: SamplePhotos) -> None:
    pair_id, _ = _templates(ctx, photos)
    overrides = {pair_id: {"0": "wife", "1": "husband"}}
    batch_id = runs.start_from_files(ctx, str(photos.husband), str(photos.wife), [pair_id], overrides)
    runs.run_inline(ctx, batch_id)
    with ctx.sessions() as session:
        task = session.execute(select(SwapTask)).scalar_one()
        assert task.face_mappings is not None
        assert task.face_mappings["0"] == "wife" and task.face_mappings["1"] == "husband"


def test_bad_mapping_is_refused_before_any_batch_row(ctx: AppContext, photos: SamplePhotos) -> None:
    pair_id, _ = _templates(ctx, photos)
    with pytest.raises(MappingError):
        runs.start_from_files(ctx, str(photos.husband), str(photos.wife), [pair_id], {pair_id: {"9": "wife"}})
    with ctx.sessions() as session:
        assert session.execute(select(func.count()).select_from(Batch)).scalar() == 0


def test_results_inherit_the_expiry_of_temporary_photos(ctx: AppContext, photos: SamplePhotos) -> None:
    pair_id, _ = _templates(ctx, photos)
    batch_id = runs.start_from_files(ctx, str(photos.husband), str(photos.wife), [pair_id], {})
    runs.run_inline(ctx, batch_id)
    with ctx.sessions() as session:
        photo_expiry = session.execute(
            select(func.min(Image.expires_at)).where(Image.path.like("photos/%"))
        ).scalar_one()
        result = session.execute(select(Image).where(Image.path.like("results/%"))).scalar_one()
        assert result.storage_type == "temporary"
        assert result.expires_at == photo_expiry


@pytest.mark.postgres
def test_concurrent_claims_run_a_task_once_on_postgres(pg_ctx: AppContext, photos: SamplePhotos) -> None:
    pair_id, _ = _templates(pg_ctx, photos)
    batch_id = runs.start_from_files(pg_ctx, str(photos.husband), str(photos.wife), [pair_id], {})
    [task_id] = batches.pending_task_ids(pg_ctx, batch_id)
    outcomes: list[batches.TaskOutcome] = []
    workers = [threading.Thread(target=lambda: outcomes.append(batches.execute_task(pg_ctx, task_id))) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sorted(o.status for o in outcomes) == ["completed", "skipped", "skipped"]
    report = batches.batch_report(pg_ctx, batch_id)
    assert report.status == "completed" and report.completed == 1


def test_task_notes_have_their_own_field_and_error_stays_empty(ctx: AppContext, photos: SamplePhotos) -> None:
    pair_id, _ = _templates(ctx, photos)
    batch_id = runs.start_from_files(ctx, str(photos.husband), str(photos.wife), [pair_id], {})
    runs.run_inline(ctx, batch_id)
    with ctx.sessions() as session:
        task = session.execute(select(SwapTask)).scalar_one()
        assert task.error is None and isinstance(task.face_report, dict)
        assert set(task.face_report) == {"faces", "notes"}
        faces = task.face_report["faces"]
        task.face_report = {"faces": faces, "notes": ["two men: the leftmost two faces were used"]}
        session.commit()
    [result] = batches.batch_report(ctx, batch_id).results
    assert result.notes == ["two men: the leftmost two faces were used"] and result.error is None
    entry = batches.batch_report(ctx, batch_id).to_json()["results"][0]
    assert entry["notes"] == result.notes and entry["note"] == result.notes[0] and entry["error"] is None
    assert {f["index"] for f in entry["faces"]} == {f["index"] for f in faces}


def test_rows_from_before_notes_had_a_field_still_read(ctx: AppContext, photos: SamplePhotos) -> None:
    pair_id, _ = _templates(ctx, photos)
    batch_id = runs.start_from_files(ctx, str(photos.husband), str(photos.wife), [pair_id], {})
    runs.run_inline(ctx, batch_id)
    with ctx.sessions() as session:
        task = session.execute(select(SwapTask)).scalar_one()
        task.face_report, task.error = task.face_report["faces"], "an old note"  # the old layout
        session.commit()
    [result] = batches.batch_report(ctx, batch_id).results
    assert result.status == "completed" and result.notes == ["an old note"] and result.error is None
    assert len(result.faces) == 3


def test_batch_finished_is_scoped_to_its_session_and_follows_the_tasks(ctx: AppContext, photos: SamplePhotos) -> None:
    pair_id, blank_id = _templates(ctx, photos)
    batch_id = runs.start_from_files(
        ctx, str(photos.husband), str(photos.wife), [pair_id, blank_id], {}, session_id="visitor-a"
    )
    assert not batches.batch_finished(ctx, batch_id, session_id="visitor-a")
    assert batches.batch_finished(ctx, batch_id, session_id="visitor-b")  # not theirs: nothing to wait for
    first, _ = batches.pending_task_ids(ctx, batch_id)
    batches.execute_task(ctx, first)
    assert not batches.batch_finished(ctx, batch_id, session_id="visitor-a")
    runs.run_inline(ctx, batch_id)
    assert batches.batch_finished(ctx, batch_id, session_id="visitor-a")
