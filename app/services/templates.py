"""Template gallery: add (deduplicated by sha256), preprocess once, list and inspect."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.context import AppContext
from app.errors import InvalidRequest, NotFound, ServiceError, one_line
from app.services.swapping import resolve_roles
from app.storage import ImageStore, files_guard, read_stored
from db.base import utcnow
from db.models import Image, Template, TemplatePreprocessing
from db.session import transaction
from pipeline.errors import PipelineError
from pipeline.face import Face, Gender, RGBImage
from pipeline.intake import DecodedImage, decode_image, encode_png, read_image_file, sha256_hex
from pipeline.mapping import Role
from pipeline.masks import combined_mask, mask_geometry

log = logging.getLogger(__name__)


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
) -> TemplateSummary:
    """Store one decoded image as a permanent template unless its sha256 is known; then preprocess."""
    if preprocess:
        ctx.face_engine()  # an unusable engine refuses before anything is written
    encoded = encode_png(decoded.array)
    digest = sha256_hex(encoded)
    with ctx.sessions() as session:
        existing = session.execute(
            select(Template.id)
            .join(Image, Template.original_image_id == Image.id)
            .where(Image.sha256 == digest)
            .limit(1)
        ).scalar_one_or_none()
    if existing is not None:
        summary = get_template(ctx, existing)
        return TemplateSummary(**{**summary.__dict__, "duplicate": True})
    with files_guard() as ledger, transaction(ctx.sessions) as session:
        image = store(ctx).save(session, ledger, decoded.array, kind="templates", encoded=encoded)
        template = Template(name=name[:200], original_image_id=image.id, source_url=source_url, category=category)
        session.add(template)
        session.flush()
        session.add(TemplatePreprocessing(template_id=template.id, preprocessing_status="pending"))
        template_id = template.id
    if preprocess:
        return preprocess_template(ctx, template_id, pixels=decoded.array)
    return get_template(ctx, template_id)


@dataclass(frozen=True)
class FileOutcome:
    """One file of `add_template_files`: its summary, or the one-line reason it was refused."""

    label: str
    summary: TemplateSummary | None = None
    refusal: str | None = None


Progress = Callable[[int, int, str], None]
ReadFile = Callable[[str], bytes]


def add_files(
    ctx: AppContext,
    paths: list[str],
    name: str | None = None,
    *,
    keep_going: bool = False,
    read: ReadFile | None = None,
    on_progress: Progress | None = None,
) -> list[FileOutcome]:
    """The one template-add path: decode each file, store it as a template and preprocess it.

    Without `keep_going` every file is decoded first and nothing is written if one is refused
    (the CLI). With it, each refusal is reported on its file and the others go on (the UI).
    `read` returns a file's bytes (the UI's upload limit); the default reads the file as is.
    """
    if not paths:
        raise InvalidRequest("choose one or more image files to add")
    count = len(paths)

    def decode(path: str) -> DecodedImage:
        if read is None:
            return read_image_file(path, max_side=ctx.settings.max_image_side)
        return decode_upload(ctx, read(path))

    decoded: dict[int, DecodedImage] = {}
    if not keep_going:
        decoded = {number: decode(path) for number, path in enumerate(paths, start=1)}
    outcomes: list[FileOutcome] = []
    for number, path in enumerate(paths, start=1):
        label = Path(path).name
        if on_progress is not None:
            on_progress(number - 1, count, label)
        title = _template_name(path, name, number, count)
        try:
            image = decoded.get(number) or decode(path)
            outcomes.append(FileOutcome(label, summary=add_template_image(ctx, image, name=title)))
        except (ServiceError, PipelineError) as exc:
            if not keep_going:
                raise
            outcomes.append(FileOutcome(label, refusal=one_line(exc)))
    if on_progress is not None:
        on_progress(count, count, "done")
    return outcomes


def add_template_files(ctx: AppContext, paths: list[str], name: str | None = None) -> list[TemplateSummary]:
    """`add_files` all or nothing: every file is decoded first; returns the summaries in order."""
    return [o.summary for o in add_files(ctx, paths, name) if o.summary is not None]


def _template_name(path: str, name: str | None, number: int, count: int) -> str:
    if name and name.strip():
        return name.strip() if count == 1 else f"{name.strip()} {number}"
    return Path(path).stem.replace("_", " ").strip()[:200] or f"template {number}"


def preprocess_template(ctx: AppContext, template_id: int, *, pixels: RGBImage | None = None) -> TemplateSummary:
    """Detect faces, classify gender, store face data and a mask image. A faceless template is 'failed'."""
    with transaction(ctx.sessions) as session:
        template = _load(session, template_id)
        row = _preprocessing_row(session, template)
        row.preprocessing_status = "processing"
        row.error = None
        image_path = store(ctx).path_for(template.original_image)
    engine = ctx.face_engine()
    try:
        if pixels is None:  # given when the caller has just stored these very pixels
            pixels = read_stored(image_path)
        faces = engine.detect(pixels)
    except Exception as exc:
        _mark_failed(ctx, template_id, f"preprocessing error: {type(exc).__name__}")
        raise
    with files_guard() as ledger, transaction(ctx.sessions) as session:
        template = _load(session, template_id)
        row = _preprocessing_row(session, template)
        row.engine = engine.name
        row.faces_detected = len(faces)
        row.face_data = [_face_record(i, face) for i, face in enumerate(faces)]
        template.male_face_count = sum(f.gender is Gender.MALE for f in faces)
        template.female_face_count = sum(f.gender is Gender.FEMALE for f in faces)
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
    log.info("template %s preprocessed: %d faces", template_id, len(faces))
    return get_template(ctx, template_id)


def _mark_failed(ctx: AppContext, template_id: int, error: str) -> None:
    with transaction(ctx.sessions) as session:
        row = _preprocessing_row(session, _load(session, template_id))
        row.preprocessing_status, row.error = "failed", error


def _face_record(index: int, face: Face) -> dict[str, Any]:
    return {"index": index, **face.to_dict(), "mask": mask_geometry(face)}


def _gray_to_rgb(mask: np.ndarray) -> RGBImage:
    return np.repeat(mask[:, :, None], 3, axis=2).astype(np.uint8)


def stored_faces(ctx: AppContext, template_id: int) -> list[Face] | None:
    """The preprocessed faces in left-to-right order, or None when not preprocessed."""
    with ctx.sessions() as session:
        row = session.execute(
            select(TemplatePreprocessing).where(TemplatePreprocessing.template_id == template_id)
        ).scalar_one_or_none()
        if row is None or row.preprocessing_status != "completed" or not row.face_data:
            return None
        return [Face.from_dict(record) for record in row.face_data]


def default_roles(ctx: AppContext, template_id: int) -> tuple[list[Face], dict[int, Role], str | None]:
    """The stored faces of a template (left to right) and the automatic mapping for them."""
    faces = stored_faces(ctx, template_id) or []
    if not faces:
        return [], {}, None
    roles, note = resolve_roles(faces, None)
    return faces, roles, note


def swap_inputs(
    session: Session, image_store: ImageStore, template_id: int, use_preprocessed: bool
) -> tuple[Path, list[Face] | None]:
    """The template's file and, when wanted and available, its stored faces: one session, no detection."""
    template = _load(session, template_id)
    row = template.preprocessing
    faces = None
    if use_preprocessed and row is not None and row.preprocessing_status == "completed" and row.face_data:
        faces = [Face.from_dict(record) for record in row.face_data]
    return image_store.path_for(template.original_image), faces


def template_pixels(ctx: AppContext, template_id: int) -> RGBImage:
    with ctx.sessions() as session:
        template = _load(session, template_id)
        path = store(ctx).path_for(template.original_image)
    return read_stored(path)


def get_template(ctx: AppContext, template_id: int) -> TemplateSummary:
    with ctx.sessions() as session:
        return _summary(ctx, _load(session, template_id))


def list_templates(ctx: AppContext) -> list[TemplateSummary]:
    with ctx.sessions() as session:
        templates = session.execute(select(Template).order_by(Template.id)).scalars().all()
        return [_summary(ctx, t) for t in templates]


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
    )


def _load(session: Any, template_id: int) -> Template:
    template = session.get(Template, template_id)
    if template is None:
        raise NotFound(f"template {template_id} does not exist")
    return template


def _preprocessing_row(session: Any, template: Template) -> TemplatePreprocessing:
    if template.preprocessing is None:
        template.preprocessing = TemplatePreprocessing(preprocessing_status="pending")
        session.flush()
    return template.preprocessing
