"""Session-scoped queries for the UI and its API: my photos, my batches, results of my batch.

Every function takes the browser session id and filters by it; an empty or missing id is
refused, never read as "all sessions". Another session's batch is reported as not found.
Templates are filtered by session in app.services.templates (shared + this session's own).
"""

from __future__ import annotations

import uuid
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from app import served
from app.context import AppContext
from app.errors import InvalidRequest, NotFound
from app.services import batches
from app.services import templates as template_service
from app.services.reports import BatchReport, TaskResult
from app.storage import read_stored
from db.models import Batch, Image, Template
from pipeline.face import RGBImage

MAX_SESSION_ID_LENGTH = 64
PHOTO_KIND = "photos/"
RESULT_KIND = "results/"
TEMPLATE_KIND = "templates/"


def new_session_id() -> str:
    """A fresh, unguessable id for one browser (or API client) session."""
    return uuid.uuid4().hex


def require_session(session_id: str | None) -> str:
    if not isinstance(session_id, str) or not session_id or len(session_id) > MAX_SESSION_ID_LENGTH:
        raise InvalidRequest("this page has no session; reload it and try again")
    served.note_visitor(session_id)  # the web UI files what this event serves under this visitor
    return session_id


@dataclass(frozen=True)
class StoredImage:
    image_id: int
    kind: str  # "photo" or "result"
    storage_type: str
    expires_at: datetime | None
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "image_id": self.image_id,
            "kind": self.kind,
            "storage_type": self.storage_type,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "created_at": self.created_at.isoformat(),
        }


def my_images(ctx: AppContext, session_id: str | None) -> list[StoredImage]:
    """This session's couple photos and results (never anyone else's, never templates)."""
    sid = require_session(session_id)
    with ctx.sessions() as session:
        rows = session.execute(select(Image).where(Image.session_id == sid).order_by(Image.id)).scalars()
        return [
            StoredImage(
                image_id=image.id,
                kind="photo" if image.path.startswith(PHOTO_KIND) else "result",
                storage_type=image.storage_type,
                expires_at=image.expires_at,
                created_at=image.created_at,
            )
            for image in rows
            if image.path.startswith((PHOTO_KIND, RESULT_KIND))
        ]


def my_photos(ctx: AppContext, session_id: str | None) -> list[StoredImage]:
    return [image for image in my_images(ctx, session_id) if image.kind == "photo"]


def my_batches(ctx: AppContext, session_id: str | None) -> list[dict[str, Any]]:
    """This session's batches, newest first, as short summaries."""
    sid = require_session(session_id)
    with ctx.sessions() as session:
        rows = session.execute(
            select(Batch).where(Batch.session_id == sid).order_by(Batch.id.desc())
        ).scalars()
        return [
            {
                "batch_id": batch.batch_id,
                "status": batch.status,
                "engine": batch.engine,
                "total": batch.total_tasks,
                "completed": batch.completed_tasks,
                "failed": batch.failed_tasks,
                "template_ids": list(batch.template_ids),
                "created_at": batch.created_at.isoformat(),
            }
            for batch in rows
        ]


@dataclass(frozen=True)
class SessionSummary:
    photos: int
    results: int
    batches: int
    kept: int  # permanent images
    expires_at: datetime | None  # earliest expiry among temporary images
    templates: int = 0  # private templates of this session


def session_summary(ctx: AppContext, session_id: str | None) -> SessionSummary:
    images = my_images(ctx, session_id)
    with ctx.sessions() as session:
        batch_count = session.execute(
            select(func.count()).select_from(Batch).where(Batch.session_id == session_id)
        ).scalar_one()
        own_templates = session.execute(
            select(Image.expires_at).where(Image.session_id == session_id, Image.path.startswith(TEMPLATE_KIND))
        ).scalars().all()
    expiries = [image.expires_at for image in images if image.expires_at is not None]
    expiries += [expiry for expiry in own_templates if expiry is not None]
    return SessionSummary(
        photos=sum(image.kind == "photo" for image in images),
        results=sum(image.kind == "result" for image in images),
        batches=int(batch_count),
        kept=sum(image.storage_type == "permanent" for image in images),
        expires_at=min(expiries) if expiries else None,
        templates=len(own_templates),
    )


def my_batch_report(ctx: AppContext, session_id: str | None, batch_id: str) -> BatchReport:
    """The report of one of this session's batches, with template names."""
    if not isinstance(batch_id, str) or not batch_id.strip():
        raise InvalidRequest("no batch id given")
    report = batches.batch_report(ctx, batch_id.strip(), session_id=require_session(session_id))
    return report.named(template_names(ctx, [result.template_id for result in report.results]))


def template_names(ctx: AppContext, template_ids: list[int]) -> dict[int, str]:
    if not template_ids:
        return {}
    with ctx.sessions() as session:
        rows = session.execute(select(Template.id, Template.name).where(Template.id.in_(template_ids))).all()
    return {int(template_id): name for template_id, name in rows}


@dataclass(frozen=True)
class ResultImage:
    template_id: int
    template_name: str
    task_id: str
    note: str | None
    pixels: RGBImage


def completed_results(ctx: AppContext, session_id: str | None, batch_id: str) -> list[ResultImage]:
    """The finished results of one of this session's batches, in batch order, as pixels."""
    return [_result_image(r) for r in my_batch_report(ctx, session_id, batch_id).completed_results()]


def completed_result(ctx: AppContext, session_id: str | None, batch_id: str, index: int) -> ResultImage:
    """The `index`-th finished result (gallery order) of one of this session's batches."""
    done = my_batch_report(ctx, session_id, batch_id).completed_results()
    if not 0 <= index < len(done):
        raise NotFound(f"result {index} does not exist")
    return _result_image(done[index])


def _result_image(result: TaskResult) -> ResultImage:
    name = result.template_name or f"template {result.template_id}"
    return ResultImage(result.template_id, name, result.task_id, result.note, read_stored(Path(result.output or "")))


def before_after(
    ctx: AppContext, session_id: str | None, batch_id: str, index: int
) -> tuple[RGBImage, RGBImage, ResultImage]:
    """The template as it was and the `index`-th result, for a before/after view."""
    result = completed_result(ctx, session_id, batch_id, index)
    before = template_service.template_pixels(ctx, result.template_id, viewer=session_id)
    return before, result.pixels, result


def results_zip(ctx: AppContext, session_id: str | None, batch_id: str, folder: Path) -> Path:
    """Every finished result of one of this session's batches in one ZIP file inside `folder`."""
    done = my_batch_report(ctx, session_id, batch_id).completed_results()
    if not done:
        raise NotFound("this batch has no finished result to download yet")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"coswap-{batch_id[:8]}.zip"
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
        for number, result in enumerate(done, start=1):
            archive.write(str(result.output), arcname=f"{number:02d}-{_slug(result.template_name or 'template')}.jpg")
    return target


def _slug(name: str) -> str:
    cleaned = "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-")
    while "--" in cleaned:
        cleaned = cleaned.replace("--", "-")
    return cleaned[:40] or "template"


def delete_my_data(ctx: AppContext, session_id: str | None) -> str:
    """Remove this session's batches, tasks, photos and results (rows and files) now; the outcome in words."""
    from app.services.cleanup import delete_session_data

    report = delete_session_data(ctx, require_session(session_id))
    return report.visitor_summary()
