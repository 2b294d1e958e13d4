"""Template gallery: add (deduplicated by sha256), preprocess once, list and inspect.

Shared templates have a permanent original image. A private template's original is temporary,
with the session id and expiry of the visitor who added it. Every read here takes a `viewer`:
None sees the shared templates only, a session id sees the shared ones plus its own, and
EVERYONE (the operator's CLI) sees all. Another session's private template is "not found".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.context import AppContext
from app.errors import InvalidRequest, NotReady, ServiceError, one_line
from app.services import preprocessing
from app.services.preprocessing import PreprocessingKept, ensure_current, load_template, store  # noqa: F401 (re-exported)
from app.services.preprocessing import face_data_version as version_of
from app.services.swapping import resolve_roles
from app.services.template_scope import EVERYONE, Viewer, visible_templates, visible_to
from app.storage import PHOTO_FORMAT, encode_photo, files_guard
from db.base import utcnow
from db.models import Image, Template, TemplatePreprocessing
from db.session import transaction
from pipeline.errors import PipelineError
from pipeline.face import Face, RGBImage
from pipeline.intake import DecodedImage, decode_image, read_image_file, sha256_hex
from pipeline.mapping import Role

log = logging.getLogger(__name__)

WAITING_WORDS = {"pending": "still waiting to be preprocessed", "processing": "still being preprocessed"}


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

    @property
    def ready(self) -> bool:
        """Whether a couple can be swapped into it: preprocessed, with at least one face."""
        return self.status == "completed" and bool(self.faces)

    @property
    def not_ready_reason(self) -> str | None:
        """Why it cannot be swapped into yet, in words (None when ready)."""
        if self.ready:
            return None
        if self.status == "failed":
            return self.error or "preprocessing failed"
        return WAITING_WORDS.get(self.status, "no face found in the template")

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
            "ready": self.ready,
        }


def decode_upload(ctx: AppContext, data: bytes) -> DecodedImage:
    return decode_image(data, max_side=ctx.settings.max_template_side)


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
    encoded = encode_photo(decoded.array)  # compact, without metadata (see app.storage)
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
        image = store(ctx).save(
            session, ledger, decoded.array, kind="templates", fmt=PHOTO_FORMAT, encoded=encoded, **private
        )
        template = Template(name=name[:200], original_image_id=image.id, source_url=source_url, category=category)
        session.add(template)
        session.flush()
        session.add(TemplatePreprocessing(template_id=template.id, preprocessing_status="pending"))
        template_id = template.id
    if preprocess:
        preprocessing.preprocess(ctx, template_id, pixels=decoded.array)
    return get_template(ctx, template_id, viewer=EVERYONE)


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
    private_to: str | None = None,
) -> list[FileOutcome]:
    """The one template-add path: decode each file, store it as a template and preprocess it.

    Without `keep_going` every file is decoded first and nothing is written if one is refused
    (the CLI). With it, each refusal is reported on its file and the others go on (the UI).
    `read` returns a file's bytes (the UI's upload limit); the default reads the file as is.
    With `private_to` (a session id) every template is private to that session.
    """
    if not paths:
        raise InvalidRequest("choose one or more image files to add")
    count = len(paths)

    def decode(path: str) -> DecodedImage:
        if read is None:
            return read_image_file(path, max_side=ctx.settings.max_template_side)
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
            summary = add_template_image(ctx, image, name=title, private_to=private_to)
            outcomes.append(FileOutcome(label, summary=summary))
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
    stem = " ".join(Path(path).stem.replace("_", " ").replace("-", " ").split())[:200]
    if not any(ch.isalpha() for ch in stem):  # a camera's or a site's number says nothing: "Untitled 2"
        return f"Untitled {number}" if count > 1 else "Untitled"
    return stem


def preprocess_template(
    ctx: AppContext, template_id: int, *, pixels: RGBImage | None = None, replace: bool = False
) -> TemplateSummary:
    """Detect faces and store face data and a mask (see app.services.preprocessing); the summary after."""
    preprocessing.preprocess(ctx, template_id, pixels=pixels, replace=replace)
    return get_template(ctx, template_id, viewer=EVERYONE)


def stored_faces(ctx: AppContext, template_id: int, *, viewer: Viewer = None) -> list[Face] | None:
    """The preprocessed faces in left-to-right order (upgraded first if stale), or None when not preprocessed."""
    preprocessing.ensure_current(ctx, template_id, viewer=viewer)
    with ctx.sessions() as session:
        load_template(session, template_id, viewer)
        row = session.execute(
            select(TemplatePreprocessing).where(TemplatePreprocessing.template_id == template_id)
        ).scalar_one_or_none()
        if row is None or row.preprocessing_status != "completed" or not row.face_data:
            return None
        return [Face.from_dict(record) for record in row.face_data]


def default_roles(
    ctx: AppContext, template_id: int, *, viewer: Viewer = None
) -> tuple[list[Face], dict[int, Role], str | None]:
    """The stored faces of a template (left to right) and the automatic mapping for them."""
    faces = stored_faces(ctx, template_id, viewer=viewer) or []
    if not faces:
        return [], {}, None
    roles, note = resolve_roles(faces, None)
    return faces, roles, note


def swap_inputs(
    session: Session,
    template_id: int,
    use_preprocessed: bool,
    *,
    viewer: Viewer = None,
    face_data_version: str | None = None,
) -> tuple[str, list[Face] | None]:
    """The template's object key and, when wanted and available, its stored faces: one session, no detection.

    Faces made by another version than `face_data_version` are not returned (see ensure_current)."""
    template = load_template(session, template_id, viewer)
    row = template.preprocessing
    faces = None
    current = face_data_version is None or (row is not None and version_of(row.face_data) == face_data_version)
    if use_preprocessed and current and row is not None and row.preprocessing_status == "completed" and row.face_data:
        faces = [Face.from_dict(record) for record in row.face_data]
    return template.original_image.path, faces


def template_pixels(ctx: AppContext, template_id: int, *, viewer: Viewer = None) -> RGBImage:
    with ctx.sessions() as session:
        key = load_template(session, template_id, viewer).original_image.path
    return store(ctx).read_key(key)


def get_template(ctx: AppContext, template_id: int, *, viewer: Viewer = None) -> TemplateSummary:
    with ctx.sessions() as session:
        return _summary(ctx, load_template(session, template_id, viewer))


def list_templates(ctx: AppContext, *, viewer: Viewer = None) -> list[TemplateSummary]:
    """The templates `viewer` may see, oldest first."""
    with ctx.sessions() as session:
        templates = session.execute(visible_templates().where(visible_to(viewer)).order_by(Template.id)).scalars()
        return [_summary(ctx, t) for t in templates]


def swappable_templates(ctx: AppContext, *, viewer: Viewer = None) -> list[TemplateSummary]:
    """The templates `viewer` may see that are ready to swap into, oldest first."""
    return [t for t in list_templates(ctx, viewer=viewer) if t.ready]


def require_ready(ctx: AppContext, template_ids: list[int], *, viewer: Viewer = None) -> None:
    """Refuse, in one line, a batch naming a template that is not ready (no face, failed, still processing)."""
    waiting = [get_template(ctx, t, viewer=viewer) for t in template_ids]
    refused = [t for t in waiting if not t.ready]
    if refused:
        named = "; ".join(f"#{t.id} {t.name}: {t.not_ready_reason}" for t in refused)
        raise NotReady(f"not ready to swap into ({named}); pick another template")


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
        image_path=store(ctx).locator(template.original_image),
        private=template.original_image.storage_type == "temporary",
    )
