"""Template management for operators and visitors: rename, remove and reprocess.

Every function takes a `viewer` (see app.services.templates): the CLI passes EVERYONE, the UI
passes the visitor's session id, so a visitor can only touch their own private templates
(`may_edit` says which templates a viewer may change).

Removing a template deletes its rows (template, preprocessing), its original image, its mask
and the finished task rows that used it; the results those tasks made stay (their image rows
and files are left alone and expire, or not, as before). It is refused while a pending or
running task needs the template.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from app.context import AppContext
from app.errors import InvalidRequest, NotFound, ServiceError
from app.services import templates as template_service
from app.services.batches import refresh_batch_counts
from app.services.templates import EVERYONE, PreprocessingKept, TemplateSummary, Viewer
from db.base import utcnow
from db.models import Batch, SwapTask, Image, Template
from db.session import transaction

log = logging.getLogger(__name__)

ACTIVE_STATUSES = ("pending", "running")
MAX_NAME_LENGTH = 200


class TemplateInUse(ServiceError):
    """A pending or running task needs the template."""


@dataclass(frozen=True)
class Removed:
    template_id: int
    name: str
    files_removed: int
    results_kept: int


def may_edit(summary: TemplateSummary, viewer: Viewer) -> bool:
    """The operator edits anything; a session edits only its own private templates."""
    return viewer is EVERYONE or (summary.private and viewer is not None)


def rename_template(ctx: AppContext, template_id: int, name: str, *, viewer: Viewer = EVERYONE) -> TemplateSummary:
    clean = " ".join(str(name or "").split())
    if not clean:
        raise InvalidRequest("a template name cannot be empty")
    if len(clean) > MAX_NAME_LENGTH:
        raise InvalidRequest(f"a template name has at most {MAX_NAME_LENGTH} characters")
    _require_editable(ctx, template_id, viewer)
    with transaction(ctx.sessions) as session:
        template = session.get_one(Template, template_id)
        template.name = clean
        template.updated_at = utcnow()
    return template_service.get_template(ctx, template_id, viewer=viewer)


def remove_templates(ctx: AppContext, template_ids: Sequence[int], *, viewer: Viewer = EVERYONE) -> list[Removed]:
    """Remove every given template, or none: all are checked (existence, rights, use) first."""
    ids = list(dict.fromkeys(template_ids))
    if not ids:
        raise InvalidRequest("name at least one template id")
    for template_id in ids:
        _require_editable(ctx, template_id, viewer)
    with transaction(ctx.sessions) as session:
        _take_write_lock(session)
        busy = _active_uses(session, ids)
        if busy:
            described = ", ".join(f"template {t} ({n} pending or running)" for t, n in sorted(busy.items()))
            raise TemplateInUse(f"refused: tasks still need {described}; wait for them to finish")
        rows = [_remove_rows(session, template_id) for template_id in ids]
    outcomes = [Removed(r.template_id, r.name, _unlink(ctx, paths), r.results_kept) for r, paths in rows]
    log.info("removed templates %s", ids)
    return outcomes


def reprocess_templates(
    ctx: AppContext, template_ids: Sequence[int] | None = None
) -> list[tuple[int, TemplateSummary | None, str | None]]:
    """Preprocess the given templates (all when None) again, keeping ids and names.

    Each result is (id, new summary or None, why it was kept as it was or None). A failure keeps
    the template's face data and mask exactly as they were.
    """
    ids = list(dict.fromkeys(template_ids)) if template_ids else _all_ids(ctx)
    for template_id in ids:
        template_service.get_template(ctx, template_id, viewer=EVERYONE)  # NotFound before any work
    outcomes: list[tuple[int, TemplateSummary | None, str | None]] = []
    for template_id in ids:
        try:
            outcomes.append((template_id, template_service.preprocess_template(ctx, template_id, replace=True), None))
        except PreprocessingKept as exc:
            outcomes.append((template_id, None, str(exc)))
    return outcomes


def private_template_count(ctx: AppContext, session_id: str) -> int:
    """How many private templates this session has now."""
    with ctx.sessions() as session:
        return int(
            session.execute(
                select(func.count())
                .select_from(Template)
                .join(Image, Template.original_image_id == Image.id)
                .where(Image.storage_type == "temporary", Image.session_id == session_id)
            ).scalar_one()
        )


def _require_editable(ctx: AppContext, template_id: int, viewer: Viewer) -> TemplateSummary:
    summary = template_service.get_template(ctx, template_id, viewer=viewer)  # NotFound for others' private
    if not may_edit(summary, viewer):
        raise InvalidRequest(f"template {template_id} is shared; only the operator changes it (python app.py templates)")
    return summary


def _all_ids(ctx: AppContext) -> list[int]:
    with ctx.sessions() as session:
        return list(session.execute(select(Template.id).order_by(Template.id)).scalars())


def _active_uses(session: Session, ids: list[int]) -> dict[int, int]:
    rows = session.execute(
        select(SwapTask.template_id, func.count())
        .where(SwapTask.template_id.in_(ids), SwapTask.status.in_(ACTIVE_STATUSES))
        .group_by(SwapTask.template_id)
    ).all()
    return {int(t): int(n) for t, n in rows}


def _take_write_lock(session: Session) -> None:
    """SQLite: write first so the check and the delete are one locked unit (see cleanup)."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("DELETE FROM faceswap_tasks WHERE 1 = 0"))


def _remove_rows(session: Session, template_id: int) -> tuple[Removed, list[str]]:
    template = session.get(Template, template_id)
    if template is None:
        raise NotFound(f"template {template_id} does not exist")
    name = template.name
    finished = session.execute(
        select(SwapTask.task_id, SwapTask.batch_id, SwapTask.result_image_id).where(
            SwapTask.template_id == template_id
        )
    ).all()
    results_kept = sum(1 for _, _, result in finished if result is not None)
    batch_ids = {batch_id for _, batch_id, _ in finished if batch_id is not None}
    session.execute(delete(SwapTask).where(SwapTask.template_id == template_id))
    for batch_id in batch_ids:
        _shrink_batch(session, batch_id)
    image_ids = [template.original_image_id]
    if template.preprocessing is not None and template.preprocessing.masked_image_id is not None:
        image_ids.append(template.preprocessing.masked_image_id)
    session.delete(template)  # its preprocessing row goes with it
    session.flush()
    in_use = _images_still_used(session, image_ids)
    paths = list(
        session.execute(
            delete(Image).where(Image.id.in_([i for i in image_ids if i not in in_use])).returning(Image.path)
        ).scalars()
    )
    return Removed(template_id, name, 0, results_kept), paths


def _shrink_batch(session: Session, batch_id: str) -> None:
    """A batch lost the tasks of a removed template: its total and counts follow."""
    batch = session.execute(select(Batch).where(Batch.batch_id == batch_id)).scalar_one_or_none()
    if batch is None:
        return
    remaining = session.execute(
        select(SwapTask.task_id).where(SwapTask.batch_id == batch_id).limit(1)
    ).scalar_one_or_none()
    total = session.execute(
        select(func.count()).select_from(SwapTask).where(SwapTask.batch_id == batch_id)
    ).scalar_one()
    batch.total_tasks = int(total)
    if remaining is not None:
        refresh_batch_counts(session, remaining)
    else:
        batch.completed_tasks = batch.failed_tasks = 0


def _images_still_used(session: Session, image_ids: list[int]) -> set[int]:
    """Another template with the same original (never expected) keeps the image."""
    return set(
        session.execute(
            select(Template.original_image_id).where(Template.original_image_id.in_(image_ids))
        ).scalars()
    )


def _unlink(ctx: AppContext, relative_paths: list[str]) -> int:
    return ctx.image_store.remove(relative_paths)[0]
