"""Couple photos: safe intake, exactly one face chosen, stored as temporary or permanent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select

from app.context import AppContext
from app.errors import NotFound
from app.services.storage import files_guard
from app.services.templates import store
from db.base import utcnow
from db.models import Image
from db.session import transaction
from pipeline.errors import NoFaceFound
from pipeline.face import Face, RGBImage, SourceFace
from pipeline.intake import decode_image, read_image_file

CoupleRole = Literal["husband", "wife"]


@dataclass(frozen=True)
class CouplePhoto:
    image_id: int
    role: CoupleRole
    face: Face
    faces_found: int
    note: str | None
    pixels: RGBImage

    def source(self) -> SourceFace:
        return SourceFace(face=self.face, image=self.pixels)


def choose_face(faces: list[Face], role: CoupleRole) -> tuple[Face, str | None]:
    """The single face to use from a couple photo; several faces → the most prominent, said so."""
    if not faces:
        raise NoFaceFound(f"no face found in the {role} photo; use a clear, front-facing photo")
    if len(faces) == 1:
        return faces[0], None
    chosen = max(faces, key=lambda f: f.prominence)
    position = faces.index(chosen) + 1
    return chosen, f"{len(faces)} faces in the {role} photo; using the most prominent (face {position} from the left)"


def detect_source(ctx: AppContext, pixels: RGBImage, role: CoupleRole) -> tuple[Face, int, str | None]:
    engine = ctx.face_engine()
    faces = engine.detect(pixels)
    face, note = choose_face(faces, role)
    return engine.prepare_source(SourceFace(face, pixels)), len(faces), note


@dataclass(frozen=True)
class PreparedPhoto:
    """A decoded couple photo with its chosen face, not stored yet."""

    role: CoupleRole
    pixels: RGBImage
    face: Face
    faces_found: int
    note: str | None


def prepare_photo(ctx: AppContext, pixels: RGBImage, role: CoupleRole) -> PreparedPhoto:
    face, count, note = detect_source(ctx, pixels, role)
    return PreparedPhoto(role, pixels, face, count, note)


def prepare_photo_file(ctx: AppContext, path: str, role: CoupleRole) -> PreparedPhoto:
    return prepare_photo(ctx, read_image_file(path, max_side=ctx.settings.max_image_side).array, role)


def ingest_photo(
    ctx: AppContext,
    data: bytes,
    *,
    role: CoupleRole,
    session_id: str | None,
    keep: bool = False,
) -> CouplePhoto:
    """Decode safely, require a face, then store. Nothing is stored when a step refuses."""
    pixels = decode_image(data, max_side=ctx.settings.max_image_side).array
    [photo] = store_photos(ctx, [prepare_photo(ctx, pixels, role)], session_id=session_id, keep=keep)
    return photo


def store_photos(
    ctx: AppContext, prepared: list[PreparedPhoto], *, session_id: str | None, keep: bool = False
) -> list[CouplePhoto]:
    """Store prepared photos in one transaction (all or none)."""
    expires = None if keep else temporary_expiry(ctx)
    with files_guard() as ledger, transaction(ctx.sessions) as session:
        images = [
            store(ctx).save(
                session,
                ledger,
                photo.pixels,
                kind="photos",
                storage_type="permanent" if keep else "temporary",
                session_id=session_id,
                expires_at=expires,
            )
            for photo in prepared
        ]
        ids = [image.id for image in images]
    return [
        CouplePhoto(image_id, p.role, p.face, p.faces_found, p.note, p.pixels)
        for image_id, p in zip(ids, prepared, strict=True)
    ]


def temporary_expiry(ctx: AppContext) -> datetime:
    return utcnow() + timedelta(hours=ctx.settings.temporary_ttl_hours)


def load_photo_pixels(ctx: AppContext, image_id: int, *, session_id: str | None = None) -> RGBImage:
    """Pixels of a stored photo; a session may only read its own temporary photos."""
    with ctx.sessions() as session:
        image = session.execute(select(Image).where(Image.id == image_id)).scalar_one_or_none()
        if image is None or (session_id is not None and image.session_id not in (None, session_id)):
            raise NotFound(f"photo {image_id} does not exist")
        path = store(ctx).path_for(image)
    return read_image_file(str(path), max_side=100_000).array
