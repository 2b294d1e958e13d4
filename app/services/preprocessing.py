"""Template preprocessing: faces, genders and a mask, stored once per template (`face_data` and a
mask image), with the engine's `face_data_version` in every face record.

`preprocess(replace=True)` (reprocess, lazy upgrade) keeps the stored data untouched unless the
new run succeeds; `ensure_current` redoes face data that another engine version made, on its
first use.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from sqlalchemy import delete

from app.context import AppContext
from app.errors import NotFound, ServiceError, one_line
from app.services.template_scope import EVERYONE, Viewer, sees
from app.storage import ImageStore, files_guard
from db.base import utcnow
from db.models import Image, Template, TemplatePreprocessing
from db.session import transaction
from pipeline.face import Face, FaceEngine, Gender, RGBImage
from pipeline.masks import combined_mask, mask_geometry

log = logging.getLogger(__name__)

FACE_DATA_VERSION_KEY = "face_data_version"


def store(ctx: AppContext) -> ImageStore:
    return ctx.image_store


def preprocess(ctx: AppContext, template_id: int, *, pixels: RGBImage | None = None, replace: bool = False) -> None:
    """Detect faces, classify gender, store face data and a mask image. A faceless template is 'failed'.

    With `replace` (reprocess, lazy upgrade) the stored data stays untouched until the new run
    has succeeded: an error, or no face where faces were found before, raises PreprocessingKept
    and changes nothing. Callers check visibility first; this works on any template id.
    """
    with transaction(ctx.sessions) as session:
        template = load_template(session, template_id, EVERYONE)
        row = preprocessing_row(session, template)
        had_faces = bool(row.face_data) and row.preprocessing_status == "completed"
        if not replace:
            row.preprocessing_status = "processing"
            row.error = None
        image_key = template.original_image.path
    engine = ctx.face_engine()
    try:
        if pixels is None:  # given when the caller has just stored these very pixels
            pixels = store(ctx).read_key(image_key)
        faces = engine.detect(pixels)
    except Exception as exc:
        if replace:
            raise PreprocessingKept(f"template {template_id}: preprocessing error ({one_line(exc)}); kept as it was") from exc
        _mark_failed(ctx, template_id, f"preprocessing error: {type(exc).__name__}")
        raise
    if replace and had_faces and not faces:
        raise PreprocessingKept(f"template {template_id}: {engine.name} finds no face now; kept as it was")
    old_masks = _store_faces(ctx, template_id, faces, pixels, engine)
    store(ctx).remove(old_masks)
    log.info("template %s preprocessed: %d faces", template_id, len(faces))


class PreprocessingKept(ServiceError):
    """Reprocessing did not succeed; the template keeps the face data and mask it had."""


def _store_faces(ctx: AppContext, template_id: int, faces: list[Face], pixels: RGBImage, engine: FaceEngine) -> list[str]:
    """Write the new face data and mask in one transaction; return the paths of masks it superseded."""
    with files_guard() as ledger, transaction(ctx.sessions) as session:
        template = load_template(session, template_id, EVERYONE)
        row = preprocessing_row(session, template)
        old_mask_id = row.masked_image_id
        row.engine = engine.name
        row.faces_detected = len(faces)
        row.face_data = [_face_record(i, face, engine.face_data_version) for i, face in enumerate(faces)]
        row.error = None
        template.male_face_count = sum(f.gender is Gender.MALE for f in faces)
        template.female_face_count = sum(f.gender is Gender.FEMALE for f in faces)
        row.masked_image_id = None
        if not faces:
            row.preprocessing_status = "failed"
            row.error = "no face found in the template"
            template.is_preprocessed = False
        else:
            mask = combined_mask(pixels.shape[:2], faces)
            mask_image = store(ctx).save(session, ledger, _gray_to_rgb(mask), kind="masks")
            row.masked_image_id = mask_image.id
            row.preprocessing_status = "completed"
            template.is_preprocessed = True
        template.updated_at = utcnow()
        session.flush()
        old_paths: list[str] = []
        if old_mask_id is not None and old_mask_id != row.masked_image_id:
            old_paths = list(session.execute(delete(Image).where(Image.id == old_mask_id).returning(Image.path)).scalars())
    return old_paths



def _mark_failed(ctx: AppContext, template_id: int, error: str) -> None:
    with transaction(ctx.sessions) as session:
        row = preprocessing_row(session, load_template(session, template_id, EVERYONE))
        row.preprocessing_status, row.error = "failed", error


def _face_record(index: int, face: Face, version: str) -> dict[str, Any]:
    return {"index": index, **face.to_dict(), "mask": mask_geometry(face), FACE_DATA_VERSION_KEY: version}


def face_data_version(face_data: list[dict[str, Any]] | None) -> str | None:
    """The engine version that made this face data (None: made before versions were stored)."""
    versions = {record.get(FACE_DATA_VERSION_KEY) for record in face_data or []}
    return versions.pop() if len(versions) == 1 else None


def _gray_to_rgb(mask: np.ndarray) -> RGBImage:
    return np.repeat(mask[:, :, None], 3, axis=2).astype(np.uint8)


def ensure_current(ctx: AppContext, template_id: int, *, viewer: Viewer = None) -> bool:
    """The lazy upgrade: face data made by another preprocessing version than the engine's is made
    again, on first use. True when it was redone; a failed redo keeps the old data (logged)."""
    engine = ctx.face_engine()
    with ctx.sessions() as session:
        row = load_template(session, template_id, viewer).preprocessing
        stale = (
            row is not None
            and row.preprocessing_status == "completed"
            and face_data_version(row.face_data) != engine.face_data_version
        )
    if not stale:
        return False
    try:
        preprocess(ctx, template_id, replace=True)
    except PreprocessingKept as exc:
        log.warning("lazy upgrade skipped: %s", exc)
        return False
    log.info("template %s re-preprocessed for %s", template_id, engine.face_data_version)
    return True


def load_template(session: Any, template_id: int, viewer: Viewer) -> Template:
    """The template if `viewer` may see it; another session's private template is 'not found'."""
    template = session.get(Template, template_id)
    if template is None or not sees(viewer, template.original_image):
        raise NotFound(f"template {template_id} does not exist")
    return template



def preprocessing_row(session: Any, template: Template) -> TemplatePreprocessing:
    if template.preprocessing is None:
        template.preprocessing = TemplatePreprocessing(preprocessing_status="pending")
        session.flush()
    return template.preprocessing
