"""`/swap` does no face work in the request: the batch's first task finds the couple's faces, once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from app.context import AppContext
from app.services import batches, runs, sessions, templates, uploads
from app.services.couple_analysis import COUPLE_REFUSED, UNANALYSED
from app.services.runs import RunLimits
from db.models import Batch
from pipeline.engines import FaceEngine
from tests.fixtures_data import SamplePhotos


def _count_detections(monkeypatch: pytest.MonkeyPatch, engine: FaceEngine) -> list[int]:
    calls: list[int] = []
    detect: Callable[..., Any] = engine.detect

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return detect(*args, **kwargs)

    monkeypatch.setattr(engine, "detect", counted)
    return calls


def _swap(ctx: AppContext, sid: str, husband: str, wife: str, template_ids: str, *, wife_face: int | None = None) -> str:
    uploads.swap_files(
        ctx, lambda batch_id: None, session_id=sid, husband_path=husband, wife_path=wife, template_ids=template_ids,
        mapping_json="", consent=True, limits=RunLimits(), timeout=0.0, wife_face=wife_face,
    )  # nothing runs the batch yet: the request returns once it is recorded
    [batch] = sessions.my_batches(ctx, sid)
    return str(batch["batch_id"])


def _source_faces(ctx: AppContext, batch_id: str) -> dict[str, Any]:
    with ctx.sessions() as session:
        return dict(session.execute(select(Batch.source_faces).where(Batch.batch_id == batch_id)).scalar_one() or {})


def test_the_request_stores_and_enqueues_and_the_first_task_finds_the_faces_once(
    ui_ctx: AppContext, photos: SamplePhotos, pair_template: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    second = templates.add_template_files(ui_ctx, [str(photos.t1)], name="Six friends")[0].id
    sid = sessions.new_session_id()
    detections = _count_detections(monkeypatch, ui_ctx.face_engine())
    batch_id = _swap(ui_ctx, sid, str(photos.husband), str(photos.pair), f"{pair_template},{second}", wife_face=2)
    assert detections == []
    recorded = _source_faces(ui_ctx, batch_id)
    assert recorded[UNANALYSED] == {"husband": None, "wife": 2} and "husband" not in recorded
    assert len(sessions.my_photos(ui_ctx, sid)) == 2  # stored as uploaded, temporary

    runs.run_inline(ui_ctx, batch_id)
    assert len(detections) == 2  # one per couple photo, for both tasks
    report = batches.batch_report(ui_ctx, batch_id, session_id=sid)
    assert (report.completed, report.failed) == (2, 0) and report.couple_refused is None
    recorded = _source_faces(ui_ctx, batch_id)
    assert UNANALYSED not in recorded and {"husband", "wife"} <= set(recorded)
    assert any("using face 2" in note for note in report.notes)  # the wife photo's note, as at upload


def test_a_photo_without_the_face_asked_for_fails_the_batch_once_with_its_reason(
    ui_ctx: AppContext, photos: SamplePhotos, pair_template: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = templates.add_template_files(ui_ctx, [str(photos.t1)], name="Six friends")[0].id
    sid = sessions.new_session_id()
    batch_id = _swap(ui_ctx, sid, str(photos.landscape), str(photos.wife), f"{pair_template},{other}")
    detections = _count_detections(monkeypatch, ui_ctx.face_engine())
    runs.run_inline(ui_ctx, batch_id)
    assert len(detections) == 1  # the first task found no face in the husband photo; the second did not look again
    report = batches.batch_report(ui_ctx, batch_id, session_id=sid)
    assert report.status == "failed" and report.completed == 0
    assert report.couple_refused is not None and "no face found in the husband photo" in report.couple_refused
    assert all(result.error == report.couple_refused for result in report.results)
    assert COUPLE_REFUSED in _source_faces(ui_ctx, batch_id)
