"""Batches: one couple, N templates. The database is the record of truth; the queue carries task ids.

A task is claimed atomically, its result is written under a deterministic key
(the task id), and its completion is fenced by the attempt number, so a rerun
after a crash never makes a second result.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.context import AppContext
from app.errors import InvalidRequest, NotFound, ServiceError, one_line
from app.services import enhancing
from app.services.couple_analysis import COUPLE_REFUSED, CoupleRefused, couple_faces, recorded_faces
from app.services import templates as template_service
from app.services.photos import CouplePhoto, UploadedPhoto
from app.services.reports import BatchReport, TaskResult, stored_task_report, task_report_json
from app.storage import encode_result, files_guard
from app.services.swapping import render_swap, resolve_roles
from db.base import utcnow
from db.models import Batch, Image, SwapTask
from db.session import transaction
from pipeline.errors import PipelineError
from pipeline.face import Face, RGBImage, SourceFace

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
Enqueue = Callable[[list[str]], None]


class TransientTaskError(Exception):
    """A task hit an error worth retrying (database or disk hiccup); its claim was released."""


@dataclass(frozen=True)
class BatchRequest:
    """One couple (stored photos, analysed or not yet) and the templates to swap them into, with hand-set
    mappings."""

    husband: CouplePhoto | UploadedPhoto
    wife: CouplePhoto | UploadedPhoto
    template_ids: list[int]
    mappings: Mapping[int, Mapping[str, str]] = field(default_factory=dict)
    session_id: str | None = None
    use_preprocessed: bool = True
    enhance: float | None = None  # face enhancer strength (0..1), None: not asked for

    @property
    def notes(self) -> list[str]:
        return [p.note for p in (self.husband, self.wife) if isinstance(p, CouplePhoto) and p.note]


@dataclass(frozen=True)
class TaskOutcome:
    task_id: str
    status: str
    claimed: bool
    error: str | None = None
    swap_seconds: float = 0.0
    total_seconds: float = 0.0


def create_batch(ctx: AppContext, request: BatchRequest, enqueue: Enqueue | None = None) -> str:
    """Validate the templates and mappings (as the request's session sees them), then `record_batch`."""
    validate_templates(ctx, request.template_ids, request.mappings, viewer=request.session_id)
    return record_batch(ctx, request, enqueue)


def record_batch(
    ctx: AppContext,
    request: BatchRequest,
    enqueue: Enqueue | None = None,
    *,
    admit: Callable[[Session, int], None] | None = None,
) -> str:
    """One batch row and N task rows in one transaction (templates already validated by the caller);
    task ids are enqueued only after commit. `admit(session, n)` runs first in that transaction (a
    locked capacity check that may refuse)."""
    template_ids = list(dict.fromkeys(request.template_ids))
    batch_id = str(uuid.uuid4())
    with transaction(ctx.sessions) as session:
        if admit is not None:
            admit(session, len(template_ids))
        photos = _couple_images(session, request)
        batch = Batch(
            batch_id=batch_id,
            session_id=request.session_id,
            husband_photo_id=request.husband.stored_id,
            wife_photo_id=request.wife.stored_id,
            template_ids=template_ids,
            source_faces=recorded_faces(request.husband, request.wife, request.enhance),
            source_notes=list(request.notes),
            engine=ctx.engine_decision().name,
            status="pending",
            total_tasks=len(template_ids),
            expires_at=_earliest_expiry(photos),
        )
        session.add(batch)
        session.flush()
        task_ids = []
        for template_id in template_ids:
            overrides = request.mappings.get(template_id)
            task = SwapTask(
                task_id=str(uuid.uuid4()),
                batch_id=batch_id,
                template_id=template_id,
                husband_photo_id=request.husband.stored_id,
                wife_photo_id=request.wife.stored_id,
                mapping_overrides={str(k): v for k, v in overrides.items()} if overrides else None,
                use_preprocessed=request.use_preprocessed,
                status="pending",
            )
            session.add(task)
            task_ids.append(task.task_id)
    if enqueue is not None:
        enqueue(task_ids)
    return batch_id


def validate_templates(
    ctx: AppContext,
    template_ids: list[int],
    mappings: Mapping[int, Mapping[str, str]],
    *,
    viewer: template_service.Viewer = None,
) -> list[int]:
    """Refuse unknown templates (and other sessions' private ones) and impossible mappings before
    anything is written."""
    template_ids = list(dict.fromkeys(template_ids))
    if not template_ids:
        raise InvalidRequest("pick at least one template")
    unknown = set(mappings) - set(template_ids)
    if unknown:
        raise InvalidRequest(f"mapping given for template(s) not in the batch: {sorted(unknown)}")
    found = template_service.visible_ids(ctx, template_ids, viewer=viewer)
    missing = [t for t in template_ids if t not in found]
    if missing:
        raise NotFound(f"template(s) {missing} do not exist")
    for template_id, overrides in mappings.items():
        faces = template_service.stored_faces(ctx, template_id, viewer=viewer)
        if faces is not None:
            resolve_roles(faces, overrides)  # raises MappingError with a one-line reason
    return template_ids


def _couple_images(session: Session, request: BatchRequest) -> list[Image]:
    images = []
    for image_id in (request.husband.stored_id, request.wife.stored_id):
        image = session.get(Image, image_id)
        if image is None or (image.session_id not in (None, request.session_id)):
            raise NotFound(f"photo {image_id} does not exist")
        images.append(image)
    return images


def _earliest_expiry(images: list[Image]) -> Any:
    expiries = [i.expires_at for i in images if i.storage_type == "temporary" and i.expires_at]
    return min(expiries) if expiries else None


def pending_task_ids(ctx: AppContext, batch_id: str) -> list[str]:
    with ctx.sessions() as session:
        return list(
            session.execute(
                select(SwapTask.task_id).where(
                    SwapTask.batch_id == batch_id, SwapTask.status == "pending"
                )
            ).scalars()
        )


def pending_template_keys(ctx: AppContext, batch_id: str) -> dict[str, str]:
    """Task id -> the stored key of its template, for the pending tasks of a batch (for reading ahead).

    Scoped like the swap itself: a template the batch's session may not see is left out."""
    keys: dict[str, str] = {}
    with ctx.sessions() as session:
        viewer = session.execute(select(Batch.session_id).where(Batch.batch_id == batch_id)).scalar_one_or_none()
        rows = session.execute(
            select(SwapTask.task_id, SwapTask.template_id).where(
                SwapTask.batch_id == batch_id, SwapTask.status == "pending"
            )
        ).all()
        for task_id, template_id in rows:
            try:
                template = template_service.load_template(session, template_id, viewer)
            except NotFound:
                continue
            keys[task_id] = template.original_image.path
    return keys


def execute_task(
    ctx: AppContext, task_id: str, read_template: Callable[[str], RGBImage] | None = None
) -> TaskOutcome:
    """Claim, swap, store and record one task. Safe to call twice: a done task is skipped.

    `read_template` decodes the template by its key (run_inline passes one that has read it ahead)."""
    started = time.perf_counter()
    attempt = _claim(ctx, task_id)
    if attempt is None:
        return TaskOutcome(task_id, "skipped", claimed=False)
    try:
        result = _run_claimed(ctx, task_id, attempt, read_template or _cached_template_reader(ctx))
    except _LeaseLost:
        return TaskOutcome(task_id, "skipped", claimed=False)
    except (PipelineError, ServiceError) as exc:
        _finish_failed(ctx, task_id, attempt, one_line(exc))
        return TaskOutcome(task_id, "failed", True, one_line(exc), total_seconds=time.perf_counter() - started)
    except (OperationalError, OSError) as exc:
        if attempt >= MAX_ATTEMPTS:
            _finish_failed(ctx, task_id, attempt, f"gave up after {attempt} attempts: {one_line(exc)}")
            return TaskOutcome(task_id, "failed", True, one_line(exc))
        _release(ctx, task_id, attempt)
        raise TransientTaskError(one_line(exc)) from exc
    except Exception as exc:  # a bug or an unforeseen library error: record it, never retry it
        error = f"internal error ({type(exc).__name__})"
        log.error("task %s: %s", task_id[:8], error, exc_info=log.isEnabledFor(logging.DEBUG))
        _finish_failed(ctx, task_id, attempt, error)
        return TaskOutcome(task_id, "failed", True, error, total_seconds=time.perf_counter() - started)
    return TaskOutcome(task_id, "completed", True, swap_seconds=result, total_seconds=time.perf_counter() - started)


def _cached_template_reader(ctx: AppContext) -> Callable[[str], RGBImage]:
    """Templates decoded once per process (the shared gallery's are swapped into by batch after batch)."""
    read_key = template_service.store(ctx).read_key
    return lambda key: ctx.image_cache.read_object(key, read_key)


def _claim(ctx: AppContext, task_id: str) -> int | None:
    now = utcnow()
    lease = now + timedelta(seconds=ctx.settings.task_lease_seconds)
    with transaction(ctx.sessions) as session:
        claimed = session.execute(
            update(SwapTask)
            .where(
                SwapTask.task_id == task_id,
                or_(
                    SwapTask.status == "pending",
                    (SwapTask.status == "running") & (SwapTask.lease_expires_at < now),
                ),
            )
            .values(
                status="running",
                attempts=SwapTask.attempts + 1,
                lease_expires_at=lease,
                started_at=now,
                updated_at=now,
            )
            .returning(SwapTask.attempts, SwapTask.batch_id)
        ).first()
        if claimed is None:
            return None
        attempts, batch_id = claimed
        if batch_id is not None:
            session.execute(
                update(Batch)
                .where(Batch.batch_id == batch_id, Batch.status == "pending")
                .values(status="running", updated_at=now)
            )
        return int(attempts)


def _run_claimed(
    ctx: AppContext, task_id: str, attempt: int, read_template: Callable[[str], RGBImage]
) -> float:
    with ctx.sessions() as session:
        task = session.execute(select(SwapTask).where(SwapTask.task_id == task_id)).scalar_one()
        batch = session.execute(select(Batch).where(Batch.batch_id == task.batch_id)).scalar_one()
        store = template_service.store(ctx)
        husband_path = store.path_for(session.get_one(Image, task.husband_photo_id))
        wife_path = store.path_for(session.get_one(Image, task.wife_photo_id))
        faces_json = batch.source_faces or {}
        overrides = task.mapping_overrides
        expires_at, session_id, batch_id = batch.expires_at, batch.session_id, batch.batch_id
        template_id, use_preprocessed = task.template_id, task.use_preprocessed
        engine = ctx.face_engine()
        template_key, faces = template_service.swap_inputs(
            session, template_id, use_preprocessed, viewer=session_id, face_data_version=engine.face_data_version
        )
    if COUPLE_REFUSED in faces_json:  # the batch's couple was refused by an earlier task: no template work
        raise CoupleRefused(str(faces_json[COUPLE_REFUSED]))
    if faces is None and use_preprocessed and template_service.ensure_current(ctx, template_id, viewer=session_id):
        faces = template_service.stored_faces(ctx, template_id, viewer=session_id)  # upgraded on first use
    couple = {"husband": ctx.image_cache.read(husband_path), "wife": ctx.image_cache.read(wife_path)}
    faces_json = couple_faces(ctx, batch_id, faces_json, couple)  # found here for a `/swap` batch's first task
    husband = SourceFace(Face.from_dict(faces_json["husband"]), couple["husband"])
    wife = SourceFace(Face.from_dict(faces_json["wife"]), couple["wife"])
    pixels = read_template(template_key)
    if faces is None:
        faces = engine.detect(pixels)
    swap_started = time.perf_counter()
    steps = enhancing.post_swap_steps(ctx, faces_json.get("enhance"))
    render = render_swap(engine, pixels, faces, husband, wife, overrides, steps=steps)
    swap_seconds = time.perf_counter() - swap_started
    encoded = encode_result(render.image)  # before the transaction: no row lock is held while it encodes
    with files_guard() as ledger, transaction(ctx.sessions) as session:
        # Lock order batch row, then task row: the second update of the task row below makes
        # PostgreSQL re-check its foreign keys (a KEY SHARE lock on the batch row), and two
        # workers upgrading that to FOR UPDATE in refresh_batch_counts would deadlock.
        session.execute(select(Batch.id).where(Batch.batch_id == batch_id).with_for_update())
        # Fence first, object second, commit last: the fenced update locks the row, so a worker whose
        # lease was taken over (or whose task was deleted) never writes or removes the result object.
        done = session.execute(
            update(SwapTask)
            .where(SwapTask.task_id == task_id, SwapTask.status == "running", SwapTask.attempts == attempt)
            .values(
                status="completed",
                face_mappings={str(k): v for k, v in render.roles.items()},
                face_report=task_report_json(render.faces, render.notes),
                error=None,
                seconds=round(swap_seconds, 4),
                lease_expires_at=None,
                finished_at=utcnow(),
                updated_at=utcnow(),
            )
        )
        if done.rowcount != 1:
            raise _LeaseLost
        # The object goes out on a thread while the rows below are written; the commit waits for it.
        # This worker never reads its result back, so no cached copy is kept (S3 mode).
        result = template_service.store(ctx).save(
            session,
            ledger,
            render.image,
            kind="results",
            key=task_id,
            fmt="jpeg",
            encoded=encoded,
            storage_type="temporary" if expires_at else "permanent",
            session_id=session_id,
            expires_at=expires_at,
            keep_local=False,
            background=True,
        )
        session.execute(
            update(SwapTask).where(SwapTask.task_id == task_id).values(result_image_id=result.id)
        )
        refresh_batch_counts(session, task_id, batch_id=batch_id)
    return swap_seconds


class _LeaseLost(Exception):
    pass


def _finish_failed(ctx: AppContext, task_id: str, attempt: int, error: str) -> None:
    with transaction(ctx.sessions) as session:
        session.execute(
            update(SwapTask)
            .where(SwapTask.task_id == task_id, SwapTask.attempts == attempt)
            .values(status="failed", error=error, lease_expires_at=None, finished_at=utcnow(), updated_at=utcnow())
        )
        refresh_batch_counts(session, task_id)


def _release(ctx: AppContext, task_id: str, attempt: int) -> None:
    with transaction(ctx.sessions) as session:
        session.execute(
            update(SwapTask)
            .where(SwapTask.task_id == task_id, SwapTask.attempts == attempt)
            .values(status="pending", lease_expires_at=None, updated_at=utcnow())
        )


def refresh_batch_counts(session: Session, task_id: str, *, batch_id: str | None = None) -> None:
    """Recount a task's batch (`batch_id` when the caller knows it); a task or batch that is gone
    (deleted meanwhile) is left alone. Reads only the columns it needs (not the batch's source faces)."""
    batch_id = batch_id or session.execute(
        select(SwapTask.batch_id).where(SwapTask.task_id == task_id)
    ).scalar_one_or_none()
    if batch_id is None:
        return
    locked = session.execute(
        select(Batch.id, Batch.total_tasks).where(Batch.batch_id == batch_id).with_for_update()
    ).one_or_none()
    if locked is None:
        return
    counts = dict(
        session.execute(
            select(SwapTask.status, func.count())
            .where(SwapTask.batch_id == batch_id)
            .group_by(SwapTask.status)
        ).all()
    )
    completed, failed = int(counts.get("completed", 0)), int(counts.get("failed", 0))
    session.execute(
        update(Batch)
        .where(Batch.id == locked.id)
        .values(
            completed_tasks=completed,
            failed_tasks=failed,
            status=batch_status(locked.total_tasks, completed, failed),
            updated_at=utcnow(),
        )
    )


def batch_status(total: int, completed: int, failed: int) -> str:
    if completed + failed < total:
        return "running"
    if failed == 0:
        return "completed"
    return "failed" if completed == 0 else "partial"


def batch_finished(ctx: AppContext, batch_id: str, *, session_id: str) -> bool:
    """One light read for waiters: every task of this session's batch is done (or the batch is gone)."""
    with ctx.sessions() as session:
        row = session.execute(
            select(Batch.completed_tasks, Batch.failed_tasks, Batch.total_tasks).where(
                Batch.batch_id == batch_id, Batch.session_id == session_id
            )
        ).one_or_none()
    return row is None or row.completed_tasks + row.failed_tasks >= row.total_tasks


def batch_report(ctx: AppContext, batch_id: str, *, session_id: str | None = None) -> BatchReport:
    """The design's batch report. With a session id, another session's batch is 'not found'."""
    with ctx.sessions() as session:
        batch = session.execute(select(Batch).where(Batch.batch_id == batch_id)).scalar_one_or_none()
        if batch is None or (session_id is not None and batch.session_id != session_id):
            raise NotFound(f"batch {batch_id} does not exist")
        store = template_service.store(ctx)
        results = []
        for task in batch.tasks:
            output = None
            if task.result_image_id is not None:
                output = str(store.path_for(session.get_one(Image, task.result_image_id)))
            faces, notes = stored_task_report(task.face_report)
            if task.status == "completed" and task.error and not notes:  # a row from before notes had a field
                notes = [task.error]
            results.append(
                TaskResult(
                    template_id=task.template_id,
                    status=task.status,
                    task_id=task.task_id,
                    error=task.error if task.status == "failed" else None,
                    notes=notes if task.status == "completed" else [],
                    output=output,
                    seconds=task.seconds or 0.0,
                    faces=faces,
                )
            )
        return BatchReport(
            batch_id=batch.batch_id,
            engine=batch.engine,
            status=batch.status,
            total=batch.total_tasks,
            completed=batch.completed_tasks,
            failed=batch.failed_tasks,
            notes=list(batch.source_notes or []),
            results=results,
            enhance=(batch.source_faces or {}).get("enhance"),
            couple_refused=(batch.source_faces or {}).get(COUPLE_REFUSED),
        )
