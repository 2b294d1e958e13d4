"""The faces of a batch's couple: recorded with the batch, or found by the worker that first needs them.

The UI and the CLI analyse couple photos when they are uploaded, and the batch records the faces they
found. `/swap` stores its photos unanalysed (app.services.photos.UploadedPhoto) and records which face
of each was asked for; the first task of the batch to run finds the faces, and the batch row keeps
them, so the other tasks reuse them. Two tasks that start together may both analyse; the first to
write wins and the other uses what it wrote, so every task of a batch swaps the same faces.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.context import AppContext
from app.errors import InvalidRequest, ServiceError, one_line
from app.services import photos
from app.services.photos import CouplePhoto, CoupleRole, UploadedPhoto
from db.models import Batch
from db.session import transaction
from pipeline.errors import PipelineError
from pipeline.face import RGBImage

UNANALYSED = "unanalysed"  # the key of `source_faces` that holds the faces asked for, until they are found
COUPLE_REFUSED = "couple_refused"  # ... and the one-line reason when a photo has no face asked for
COUPLE_ROLES: tuple[CoupleRole, CoupleRole] = ("husband", "wife")


class CoupleRefused(InvalidRequest):
    """A couple photo of the batch has no face asked for; every task of the batch fails with this reason."""


def recorded_faces(
    husband: CouplePhoto | UploadedPhoto, wife: CouplePhoto | UploadedPhoto, enhance: float | None
) -> dict[str, Any]:
    """What a new batch's `source_faces` holds: both faces, or (for uploaded photos) the faces asked for."""
    if isinstance(husband, CouplePhoto) and isinstance(wife, CouplePhoto):
        faces: dict[str, Any] = {p.role: p.face.to_dict(with_embedding=True) for p in (husband, wife)}
    elif isinstance(husband, UploadedPhoto) and isinstance(wife, UploadedPhoto):
        faces = {UNANALYSED: {p.role: p.face_index for p in (husband, wife)}}
    else:
        raise TypeError("both couple photos must be analysed, or neither")
    faces["enhance"] = enhance  # kept here, beside the couple, so the schema does not change
    return faces


def couple_faces(
    ctx: AppContext, batch_id: str, recorded: dict[str, Any], pixels: dict[str, RGBImage]
) -> dict[str, Any]:
    """The batch's faces: as recorded, or found now in `pixels` (role -> the stored photo) and recorded.

    A photo without the face asked for raises CoupleRefused with the one-line reason, recorded on the
    batch, so the batch's other tasks fail with it at once and `/swap` says it once."""
    if COUPLE_REFUSED in recorded:
        raise CoupleRefused(str(recorded[COUPLE_REFUSED]))
    if UNANALYSED not in recorded:
        return recorded
    asked = recorded[UNANALYSED]
    try:
        found = {role: photos.prepare_photo(ctx, pixels[role], role, asked.get(role)) for role in COUPLE_ROLES}
    except (PipelineError, ServiceError) as exc:
        reason = one_line(exc)
        _record(ctx, batch_id, {**recorded, COUPLE_REFUSED: reason}, [])
        raise CoupleRefused(reason) from exc
    faces: dict[str, Any] = {role: found[role].face.to_dict(with_embedding=True) for role in COUPLE_ROLES}
    faces["enhance"] = recorded.get("enhance")
    held = _record(ctx, batch_id, faces, [note for note in (found[role].note for role in COUPLE_ROLES) if note])
    if COUPLE_REFUSED in held:
        raise CoupleRefused(str(held[COUPLE_REFUSED]))
    return held


def _record(ctx: AppContext, batch_id: str, faces: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    """Write the batch's faces (or refusal) unless another task did first; returns what the batch holds."""
    with transaction(ctx.sessions) as session:
        batch = session.execute(select(Batch).where(Batch.batch_id == batch_id).with_for_update()).scalar_one_or_none()
        if batch is None:
            return faces  # deleted meanwhile: the task's fenced completion will find it gone
        if UNANALYSED not in (batch.source_faces or {}):
            return dict(batch.source_faces or {})  # another task of the batch got there first
        batch.source_faces = faces
        batch.source_notes = notes
    return faces
