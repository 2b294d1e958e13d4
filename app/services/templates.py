"""Template gallery: add (deduplicated by sha256), preprocess once, list and inspect.

Shared templates have a permanent original image. A private template's original is temporary,
with the session id and expiry of the visitor who added it. Every read here takes a `viewer`:
None sees the shared templates only, a session id sees the shared ones plus its own, and
EVERYONE (the operator's CLI) sees all. Another session's private template is "not found".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from datetime import timedelta
from typing import Any, Final

import numpy as np
from sqlalchemy import ColumnElement, delete, or_, select
from sqlalchemy.orm import Session

from app.context import AppContext
from app.errors import NotFound, ServiceError
from app.services.storage import ImageStore, files_guard, read_stored
from db.base import utcnow
from db.models import Image, Template, TemplatePreprocessing
from db.session import transaction
from pipeline.face import Face, FaceEngine, Gender, RGBImage
from pipeline.intake import DecodedImage, decode_image, encode_png, read_image_file, sha256_hex
from pipeline.masks import combined_mask, mask_geometry

log = logging.getLogger(__name__)

FACE_DATA_VERSION_KEY = "face_data_version"


class _Everyone:
    """The operator's view (CLI): every template, shared or private."""

    def __repr__(self) -> str:
        return "EVERYONE"


EVERYONE: Final = _Everyone()
Viewer = str | None | _Everyone  # None: shared only; "sid": shared + that session's own; EVERYONE: all


def visible_to(viewer: Viewer) -> ColumnElement[bool]:
    """SQL condition on Image (the template's original): what `viewer` may list, read or swap into."""
    if isinstance(viewer, _Everyone):
        return Image.id.is_not(None)
    shared = Image.storage_type == "permanent"
    if viewer is None:
        return shared
    return or_(shared, (Image.storage_type == "temporary") & (Image.session_id == viewer))


def visible_templates() -> Any:
    """select(Template) joined to its original image; add `.where(visible_to(viewer))`."""
    return select(Template).join(Image, Template.original_image_id == Image.id)


@dataclass(frozen=True)
class TemplateSummary:
    id: int
    name: str
    status: str
    faces: list[dict[str, Any]] = field(default_factory=list)
    male_face_count: int = 0
    female_face_count: int = 0
    error: str | None = None
    duplicate: bool = False
    image_path: str | None = None
    private: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "faces": self.faces,
            "male_face_count": self.male_face_count,
            "female_face_count": self.female_face_count,
            "error": self.error,
            "duplicate": self.duplicate,
            "private": self.private,
        }


def store(ctx: AppContext) -> ImageStore:
    return ImageStore(ctx.settings.images_dir)


def decode_upload(ctx: AppContext, data: bytes) -> DecodedImage:
    return decode_image(data, max_side=ctx.settings.max_image_side)


def add_template_image(
    ctx: AppContext,
    decoded: DecodedImage,
    *,
    name: str,
    source_url: str | None = None,
    category: str | None = None,
    preprocess: bool = True,
    private_to: str | None = None,
) -> TemplateSummary:
    """Store one decoded image as a template unless its sha256 is already visible; then preprocess.

    With `private_to` (a session id) the template is private to that session: its original is
    temporary, with the session id and the usual expiry, so cleanup removes it with the photos.
    """
    if preprocess:
        ctx.face_engine()  # an unusable engine refuses before anything is written
    encoded = encode_png(decoded.array)
    digest = sha256_hex(encoded)
    viewer: Viewer = private_to if private_to is not None else None
    with ctx.sessions() as session:
        existing = session.execute(
            select(Template.id)
            .join(Image, Template.original_image_id == Image.id)
            .where(Image.sha256 == digest, visible_to(viewer))
            .order_by(Template.id)
            .limit(1)
        ).scalar_one_or_none()
    if existing is not None:
        summary = get_template(ctx, existing, viewer=viewer)
        return TemplateSummary(**{**summary.__dict__, "duplicate": True})
    private = {}
    if private_to is not None:
        expires = utcnow() + timedelta(hours=ctx.settings.temporary_ttl_hours)
        private = {"storage_type": "temporary", "session_id": private_to, "expires_at": expires}
    with files_guard() as ledger, transaction(ctx.sessions) as session:
        image = store(ctx).save(session, ledger, decoded.array, kind="templates", encoded=encoded, **private)
        template = Template(name=name[:200], original_image_id=image.id, source_url=source_url, category=category)
        session.add(template)
        session.flush()
        session.add(TemplatePreprocessing(template_id=template.id, preprocessing_status="pending"))
        template_id = template.id
    if preprocess:
        preprocess_template(ctx, template_id, pixels=decoded.array)
    return get_template(ctx, template_id, viewer=EVERYONE)


def add_template_files(ctx: AppContext, paths: list[str], name: str | None = None) -> list[TemplateSummary]:
    """Validate every file first (nothing is written if one is refused), then add each."""
    decoded = [(path, read_image_file(path, max_side=ctx.settings.max_image_side)) for path in paths]
    results = []
    for number, (path, image) in enumerate(decoded, start=1):
        label = _template_name(path, name, number, len(decoded))
        results.append(add_template_image(ctx, image, name=label))
    return results


def _template_name(path: str, name: str | None, number: int, count: int) -> str:
    if name:
        return name if count == 1 else f"{name} {number}"
    return Path(path).stem.replace("_", " ")[:200] or f"template {number}"


def preprocess_template(
    ctx: AppContext, template_id: int, *, pixels: RGBImage | None = None, replace: bool = False
) -> TemplateSummary:
    """Detect faces, classify gender, store face data and a mask image. A faceless template is 'failed'.

    With `replace` (reprocess, lazy upgrade) the stored data stays untouched until the new run
    has succeeded: an error, or no face where faces were found before, raises PreprocessingKept
    and changes nothing. Callers check visibility first; this works on any template id.
    """
    with transaction(ctx.sessions) as session:
        template = _load(session, template_id, EVERYONE)
        row = _preprocessing_row(session, template)
        had_faces = bool(row.face_data) and row.preprocessing_status == "completed"
        if not replace:
            row.preprocessing_status = "processing"
            row.error = None
        image_path = store(ctx).path_for(template.original_image)
    engine = ctx.face_engine()
    try:
        if pixels is None:  # given when the caller has just stored these very pixels
            pixels = read_stored(image_path)
        faces = engine.detect(pixels)
    except Exception as exc:
        if replace:
            raise PreprocessingKept(f"template {template_id}: preprocessing error ({_one_line(exc)}); kept as it was") from exc
        _mark_failed(ctx, template_id, f"preprocessing error: {type(exc).__name__}")
        raise
    if replace and had_faces and not faces:
        raise PreprocessingKept(f"template {template_id}: {engine.name} finds no face now; kept as it was")
    old_masks = _store_faces(ctx, template_id, faces, pixels, engine)
    for relative in old_masks:
        (store(ctx).root / relative).unlink(missing_ok=True)
    log.info("template %s preprocessed: %d faces", template_id, len(faces))
    return get_template(ctx, template_id, viewer=EVERYONE)


class PreprocessingKept(ServiceError):
    """Reprocessing did not succeed; the template keeps the face data and mask it had."""


def _store_faces(ctx: AppContext, template_id: int, faces: list[Face], pixels: RGBImage, engine: FaceEngine) -> list[str]:
    """Write the new face data and mask in one transaction; return the paths of masks it superseded."""
    with files_guard() as ledger, transaction(ctx.sessions) as session:
        template = _load(session, template_id, EVERYONE)
        row = _preprocessing_row(session, template)
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


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _mark_failed(ctx: AppContext, template_id: int, error: str) -> None:
    with transaction(ctx.sessions) as session:
        row = _preprocessing_row(session, _load(session, template_id, EVERYONE))
        row.preprocessing_status, row.error = "failed", error


def _face_record(index: int, face: Face, version: str) -> dict[str, Any]:
    return {"index": index, **face.to_dict(), "mask": mask_geometry(face), FACE_DATA_VERSION_KEY: version}


def face_data_version(face_data: list[dict[str, Any]] | None) -> str | None:
    """The engine version that made this face data (None: made before versions were stored)."""
    versions = {record.get(FACE_DATA_VERSION_KEY) for record in face_data or []}
    return versions.pop() if len(versions) == 1 else None


def _version_of(row: TemplatePreprocessing) -> str | None:
    return face_data_version(row.face_data)


def _gray_to_rgb(mask: np.ndarray) -> RGBImage:
    return np.repeat(mask[:, :, None], 3, axis=2).astype(np.uint8)


def ensure_current(ctx: AppContext, template_id: int, *, viewer: Viewer = None) -> bool:
    """The lazy upgrade: face data made by another preprocessing version than the engine's is made
    again, on first use. True when it was redone; a failed redo keeps the old data (logged)."""
    engine = ctx.face_engine()
    with ctx.sessions() as session:
        row = _load(session, template_id, viewer).preprocessing
        stale = (
            row is not None
            and row.preprocessing_status == "completed"
            and face_data_version(row.face_data) != engine.face_data_version
        )
    if not stale:
        return False
    try:
        preprocess_template(ctx, template_id, replace=True)
    except PreprocessingKept as exc:
        log.warning("lazy upgrade skipped: %s", exc)
        return False
    log.info("template %s re-preprocessed for %s", template_id, engine.face_data_version)
    return True


def stored_faces(ctx: AppContext, template_id: int, *, viewer: Viewer = None) -> list[Face] | None:
    """The preprocessed faces in left-to-right order (upgraded first if stale), or None when not preprocessed."""
    ensure_current(ctx, template_id, viewer=viewer)
    with ctx.sessions() as session:
        _load(session, template_id, viewer)
        row = session.execute(
            select(TemplatePreprocessing).where(TemplatePreprocessing.template_id == template_id)
        ).scalar_one_or_none()
        if row is None or row.preprocessing_status != "completed" or not row.face_data:
            return None
        return [Face.from_dict(record) for record in row.face_data]


def swap_inputs(
    session: Session,
    image_store: ImageStore,
    template_id: int,
    use_preprocessed: bool,
    *,
    viewer: Viewer = None,
    face_data_version: str | None = None,
) -> tuple[Path, list[Face] | None]:
    """The template's file and, when wanted and available, its stored faces: one session, no detection.

    Faces made by another version than `face_data_version` are not returned (see ensure_current)."""
    template = _load(session, template_id, viewer)
    row = template.preprocessing
    faces = None
    current = face_data_version is None or (row is not None and _version_of(row) == face_data_version)
    if use_preprocessed and current and row is not None and row.preprocessing_status == "completed" and row.face_data:
        faces = [Face.from_dict(record) for record in row.face_data]
    return image_store.path_for(template.original_image), faces


def template_pixels(ctx: AppContext, template_id: int, *, viewer: Viewer = None) -> RGBImage:
    with ctx.sessions() as session:
        template = _load(session, template_id, viewer)
        path = store(ctx).path_for(template.original_image)
    return read_stored(path)


def get_template(ctx: AppContext, template_id: int, *, viewer: Viewer = None) -> TemplateSummary:
    with ctx.sessions() as session:
        return _summary(ctx, _load(session, template_id, viewer))


def list_templates(ctx: AppContext, *, viewer: Viewer = None) -> list[TemplateSummary]:
    """The templates `viewer` may see, oldest first."""
    with ctx.sessions() as session:
        templates = session.execute(visible_templates().where(visible_to(viewer)).order_by(Template.id)).scalars()
        return [_summary(ctx, t) for t in templates]


def visible_ids(ctx: AppContext, template_ids: list[int], *, viewer: Viewer) -> set[int]:
    """Those of `template_ids` that `viewer` may swap into."""
    if not template_ids:
        return set()
    with ctx.sessions() as session:
        query = (
            select(Template.id)
            .join(Image, Template.original_image_id == Image.id)
            .where(Template.id.in_(template_ids), visible_to(viewer))
        )
        return set(session.execute(query).scalars())


def _summary(ctx: AppContext, template: Template) -> TemplateSummary:
    row = template.preprocessing
    faces = [
        {k: record[k] for k in ("index", "bbox", "gender", "gender_score")}
        for record in ((row.face_data or []) if row else [])
    ]
    return TemplateSummary(
        id=template.id,
        name=template.name,
        status=row.preprocessing_status if row else "pending",
        faces=faces,
        male_face_count=template.male_face_count,
        female_face_count=template.female_face_count,
        error=row.error if row else None,
        image_path=str(store(ctx).path_for(template.original_image)),
        private=template.original_image.storage_type == "temporary",
    )


def _load(session: Any, template_id: int, viewer: Viewer) -> Template:
    """The template if `viewer` may see it; another session's private template is 'not found'."""
    template = session.get(Template, template_id)
    if template is None or not _sees(viewer, template.original_image):
        raise NotFound(f"template {template_id} does not exist")
    return template


def _sees(viewer: Viewer, image: Image) -> bool:
    if isinstance(viewer, _Everyone) or image.storage_type == "permanent":
        return True
    return viewer is not None and image.session_id == viewer


def _preprocessing_row(session: Any, template: Template) -> TemplatePreprocessing:
    if template.preprocessing is None:
        template.preprocessing = TemplatePreprocessing(preprocessing_status="pending")
        session.flush()
    return template.preprocessing
