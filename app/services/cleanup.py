"""Delete temporary images (rows and files) once they expire, or at once for one browser session.

Temporary couple photos carry an expires_at; their results inherit the batch's expires_at.
Rows go first, in one transaction (tasks, then batches, then images, since tasks and batches
reference the photos); files are removed only after the commit, and only those whose rows this
call actually deleted (DELETE ... RETURNING), so two cleaners never fight over a file.

Expiry never deletes a photo that a pending or running task still needs: such a batch is kept,
with its photos and the results it already has, until its tasks finish (the reconciler makes
sure they do); then it goes as a whole.

`delete_session_data` is the "delete my photos and results now" button: it removes every row and
file of the session at once, including its pending and running tasks, and every copy the web UI
served it (app/served.py). A worker that is running one of them notices at its fenced completion (the row is gone) and writes nothing.

Both also drop this process's decoded copies (the image cache, the engine's prepared sources) once
they delete images; other worker processes keep theirs until their next couple replaces them.

Only one expiry cleaner runs at a time: on PostgreSQL a transaction-level advisory lock, tried
without waiting (a second cleaner reports "skipped"); on SQLite the write lock, taken first.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import delete, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import served
from app.context import AppContext
from db.models import Batch, Image, SwapTask, Template, TemplatePreprocessing
from db.session import transaction

log = logging.getLogger(__name__)

CLEANUP_LOCK_KEY = 0x0C05_3A9C_1EA0  # pg advisory lock id of the expiry cleaner
ACTIVE_STATUSES = ("pending", "running")
DEFAULT_LIMIT = 2000  # images per run; the next run takes the rest


@dataclass(frozen=True)
class CleanupReport:
    batches: int = 0
    tasks: int = 0
    images: int = 0
    files_removed: int = 0
    files_missing: int = 0
    kept_in_use: int = 0
    cancelled_tasks: int = 0
    templates: int = 0  # private templates removed with their originals
    skipped: str | None = None
    served_copies: int = 0  # copies the web UI had served (Gradio's cache), removed

    @property
    def changed(self) -> bool:
        return bool(self.batches or self.tasks or self.images or self.templates)

    def summary(self) -> str:
        if self.skipped:
            return f"skipped: {self.skipped}"
        text_ = (
            f"deleted {self.images} images ({self.files_removed} files), {self.batches} batches, "
            f"{self.tasks} tasks"
        )
        if self.cancelled_tasks:
            text_ += f" ({self.cancelled_tasks} unfinished)"
        if self.templates:
            text_ += f", {self.templates} private templates"
        if self.kept_in_use:
            text_ += f"; kept {self.kept_in_use} images still needed by pending or running tasks"
        if self.files_missing:
            text_ += f"; {self.files_missing} files were already gone"
        if self.served_copies:
            text_ += f"; {self.served_copies} served copies"
        return text_

    def visitor_summary(self) -> str:
        """The outcome in a visitor's words (the UI's "Delete my data"); `summary` is the operator's."""
        if not self.changed:
            return "There was nothing of yours to delete."
        counts = ((self.images, "picture"), (self.batches, "swap"), (self.templates, "own template"))
        parts = [_count(number, noun) for number, noun in counts if number]
        listed = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
        if self.kept_in_use:
            waiting = _count(self.kept_in_use, "picture")
            return f"Deleted {listed} (photos and results included); {waiting} still used by a running swap go when it ends."
        return f"Deleted {listed} (photos and results included). Nothing of yours is stored now."

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


@dataclass(frozen=True)
class _Deleted:
    batches: int
    tasks: int
    paths: list[str]


def cleanup_expired(ctx: AppContext, now: datetime, *, limit: int = DEFAULT_LIMIT) -> CleanupReport:
    """Delete expired temporary images and the batches and tasks that depend on them, and served
    copies older than the TTL (or the served-copy age, if shorter)."""
    try:
        with transaction(ctx.sessions) as session:
            if not _take_cleaner_lock(session):
                return CleanupReport(skipped="another cleanup is running")
            expired = set(
                session.execute(
                    select(Image.id)
                    .where(Image.storage_type == "temporary", Image.expires_at <= now)
                    .order_by(Image.expires_at)
                    .limit(limit)
                ).scalars()
            )
            batch_ids = _deletable_batches(session, expired, now)
            task_ids = _deletable_loose_tasks(session, expired)
            deleted = _delete_rows(session, batch_ids, task_ids, set())
            templates, mask_paths = _delete_private_templates(session, expired)
            image_ids = expired - _still_referenced(session, expired, set(), set())
            deleted.paths.extend(_delete_images(session, image_ids))
    except IntegrityError:
        # A batch was created on an expiring photo while we ran; nothing was deleted.
        return CleanupReport(skipped="a concurrent change referenced an expiring image; the next run retries")
    removed, missing = _remove_files(ctx, deleted.paths + mask_paths)
    served_age = min(served.SERVED_MAX_AGE_SECONDS, ctx.settings.temporary_ttl_hours * 3600)
    report = CleanupReport(
        served_copies=served.sweep(max_age=served_age),
        batches=deleted.batches,
        tasks=deleted.tasks,
        images=len(deleted.paths) + len(mask_paths),
        files_removed=removed,
        files_missing=missing,
        kept_in_use=len(expired) - len(image_ids),
        templates=templates,
    )
    if report.images:
        _forget_decoded(ctx)
    if report.changed:
        log.info("expiry cleanup: %s", report.summary())
    return report


def delete_session_data(ctx: AppContext, session_id: str) -> CleanupReport:
    """Remove every batch, task, image row and file of one browser session, now."""
    if not session_id:
        return CleanupReport(skipped="no session")
    with transaction(ctx.sessions) as session:
        _take_write_lock(session)
        image_ids = set(session.execute(select(Image.id).where(Image.session_id == session_id)).scalars())
        batch_ids = set(
            session.execute(
                select(Batch.batch_id).where(
                    or_(
                        Batch.session_id == session_id,
                        Batch.husband_photo_id.in_(image_ids),
                        Batch.wife_photo_id.in_(image_ids),
                    )
                )
            ).scalars()
        )
        task_ids = _tasks_using(session, image_ids) - _tasks_of(session, batch_ids)
        cancelled = _count_active(session, batch_ids, task_ids)
        deleted_tasks_batches = _delete_rows(session, batch_ids, task_ids, set())
        # Results a running task committed meanwhile carry the session id too: select again.
        image_ids = set(session.execute(select(Image.id).where(Image.session_id == session_id)).scalars())
        templates, mask_paths = _delete_private_templates(session, image_ids)
        image_ids -= _still_referenced(session, image_ids, set(), set())
        paths = _delete_images(session, image_ids) + mask_paths
    removed, missing = _remove_files(ctx, paths)
    report = CleanupReport(
        served_copies=served.delete_visitor_files(session_id),
        batches=deleted_tasks_batches.batches,
        tasks=deleted_tasks_batches.tasks,
        images=len(paths),
        files_removed=removed,
        files_missing=missing,
        cancelled_tasks=cancelled,
        templates=templates,
    )
    if report.images:
        _forget_decoded(ctx)
    log.info("session data deleted: %s", report.summary())
    return report


def _forget_decoded(ctx: AppContext) -> None:
    """Deleted photos leave no decoded copy in this process: the image cache and what the engine kept
    from its sources are dropped (the next batch decodes and prepares its own again)."""
    ctx.image_cache.clear()
    engine = ctx.loaded_face_engine()
    if engine is not None:
        engine.forget_sources()


def _take_cleaner_lock(session: Session) -> bool:
    if session.get_bind().dialect.name == "postgresql":
        return bool(session.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": CLEANUP_LOCK_KEY}).scalar())
    _take_write_lock(session)
    return True


def _take_write_lock(session: Session) -> None:
    """On SQLite, start with a write so the whole unit of work holds the write lock.

    Otherwise a read snapshot taken before another writer commits cannot be upgraded
    (SQLITE_BUSY_SNAPSHOT). PostgreSQL needs nothing here: row locks and FKs do the work.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("DELETE FROM faceswap_tasks WHERE 1 = 0"))


def _deletable_batches(session: Session, expired: set[int], now: datetime) -> set[str]:
    """Expired batches (or batches using an expired photo) with no pending or running task."""
    candidates = set(
        session.execute(
            select(Batch.batch_id).where(
                or_(
                    Batch.expires_at <= now,
                    Batch.husband_photo_id.in_(expired),
                    Batch.wife_photo_id.in_(expired),
                )
            )
        ).scalars()
    )
    if not candidates:
        return set()
    busy = set(
        session.execute(
            select(SwapTask.batch_id).where(
                SwapTask.batch_id.in_(candidates), SwapTask.status.in_(ACTIVE_STATUSES)
            )
        ).scalars()
    )
    return candidates - busy


def _deletable_loose_tasks(session: Session, expired: set[int]) -> set[str]:
    """Finished tasks outside any batch that used an expired photo."""
    if not expired:
        return set()
    return set(
        session.execute(
            select(SwapTask.task_id).where(
                SwapTask.batch_id.is_(None),
                SwapTask.status.not_in(ACTIVE_STATUSES),
                or_(SwapTask.husband_photo_id.in_(expired), SwapTask.wife_photo_id.in_(expired)),
            )
        ).scalars()
    )


def _tasks_of(session: Session, batch_ids: Collection[str]) -> set[str]:
    if not batch_ids:
        return set()
    return set(session.execute(select(SwapTask.task_id).where(SwapTask.batch_id.in_(batch_ids))).scalars())


def _tasks_using(session: Session, image_ids: Collection[int]) -> set[str]:
    if not image_ids:
        return set()
    return set(
        session.execute(
            select(SwapTask.task_id).where(
                or_(SwapTask.husband_photo_id.in_(image_ids), SwapTask.wife_photo_id.in_(image_ids))
            )
        ).scalars()
    )


def _count_active(session: Session, batch_ids: Collection[str], task_ids: Collection[str]) -> int:
    return len(
        session.execute(
            select(SwapTask.task_id).where(
                or_(SwapTask.batch_id.in_(batch_ids), SwapTask.task_id.in_(task_ids)),
                SwapTask.status.in_(ACTIVE_STATUSES),
            )
        ).all()
    )


def _still_referenced(
    session: Session, image_ids: set[int], leaving_batches: Collection[str], leaving_tasks: Collection[str]
) -> set[int]:
    """Images among `image_ids` that a surviving batch, task or template still points to."""
    if not image_ids:
        return set()
    used: set[int] = set()
    batch_rows = session.execute(
        select(Batch.husband_photo_id, Batch.wife_photo_id).where(
            or_(Batch.husband_photo_id.in_(image_ids), Batch.wife_photo_id.in_(image_ids)),
            Batch.batch_id.not_in(leaving_batches),
        )
    ).all()
    used.update(_flatten(batch_rows))
    task_rows = session.execute(
        select(SwapTask.husband_photo_id, SwapTask.wife_photo_id, SwapTask.result_image_id).where(
            or_(
                SwapTask.husband_photo_id.in_(image_ids),
                SwapTask.wife_photo_id.in_(image_ids),
                SwapTask.result_image_id.in_(image_ids),
            ),
            or_(SwapTask.batch_id.is_(None), SwapTask.batch_id.not_in(leaving_batches)),
            SwapTask.task_id.not_in(leaving_tasks),
        )
    ).all()
    used.update(_flatten(task_rows))  # a kept batch keeps its results too, until it goes as a whole
    used.update(
        session.execute(select(Template.original_image_id).where(Template.original_image_id.in_(image_ids))).scalars()
    )
    return used & image_ids


def _delete_private_templates(session: Session, image_ids: set[int]) -> tuple[int, list[str]]:
    """Templates whose (temporary) original is among `image_ids` and that no remaining task uses:
    their preprocessing rows and templates go, and their mask images (rows; paths returned)."""
    if not image_ids:
        return 0, []
    candidates = set(
        session.execute(
            select(Template.id).where(Template.original_image_id.in_(image_ids))
        ).scalars()
    )
    if not candidates:
        return 0, []
    used = set(
        session.execute(select(SwapTask.template_id).where(SwapTask.template_id.in_(candidates))).scalars()
    )
    doomed = candidates - used
    if not doomed:
        return 0, []
    mask_ids = {
        mask_id
        for mask_id in session.execute(
            select(TemplatePreprocessing.masked_image_id).where(TemplatePreprocessing.template_id.in_(doomed))
        ).scalars()
        if mask_id is not None
    }
    session.execute(delete(TemplatePreprocessing).where(TemplatePreprocessing.template_id.in_(doomed)))
    session.execute(delete(Template).where(Template.id.in_(doomed)))
    return len(doomed), _delete_images(session, mask_ids)


def _flatten(rows: Iterable[tuple[int | None, ...]]) -> set[int]:
    return {value for row in rows for value in row if value is not None}


def _delete_rows(session: Session, batch_ids: set[str], task_ids: set[str], image_ids: set[int]) -> _Deleted:
    if batch_ids:
        # Same lock order as a worker's completion (batch row, then task row): no deadlock with a
        # worker finishing a task of a batch being deleted; the worker then finds its row gone.
        session.execute(
            select(Batch.id).where(Batch.batch_id.in_(batch_ids)).order_by(Batch.id).with_for_update()
        )
    tasks = 0
    if batch_ids or task_ids:
        tasks = len(
            session.execute(
                delete(SwapTask)
                .where(or_(SwapTask.batch_id.in_(batch_ids), SwapTask.task_id.in_(task_ids)))
                .returning(SwapTask.id)
            ).all()
        )
    batches = 0
    if batch_ids:
        batches = len(
            session.execute(
                delete(Batch).where(Batch.batch_id.in_(batch_ids)).returning(Batch.id)
            ).all()
        )
    return _Deleted(batches=batches, tasks=tasks, paths=_delete_images(session, image_ids))


def _delete_images(session: Session, image_ids: set[int]) -> list[str]:
    if not image_ids:
        return []
    return list(session.execute(delete(Image).where(Image.id.in_(image_ids)).returning(Image.path)).scalars())


def _remove_files(ctx: AppContext, relative_paths: list[str]) -> tuple[int, int]:
    """Remove the stored objects (files, or bucket objects and their cached copies) of deleted rows."""
    return ctx.image_store.remove(relative_paths)
