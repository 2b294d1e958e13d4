"""Couple photos: safe intake, exactly one face chosen, stored as temporary or permanent."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal

from app.context import AppContext
from app.errors import InvalidRequest
from app.storage import PHOTO_FORMAT, files_guard
from app.services.templates import store
from db.base import utcnow
from db.session import transaction
from pipeline.advice import source_advice
from pipeline.errors import NoFaceFound
from pipeline.face import Face, RGBImage, SourceFace
from pipeline.intake import decode_image, read_image_file

CoupleRole = Literal["husband", "wife"]


@dataclass(frozen=True)
class CouplePhoto:
    """The one couple-photo type, from upload to worker: the chosen face and its pixels.

    `image_id` is None until the photo is stored; `keep` says it is stored as permanent.
    """

    role: CoupleRole
    face: Face
    faces_found: int
    note: str | None
    pixels: RGBImage = field(repr=False)
    image_id: int | None = None
    keep: bool = False

    @property
    def stored_id(self) -> int:
        """The image id of a stored photo; refuses a photo that was never stored."""
        if self.image_id is None:
            raise InvalidRequest(f"the {self.role} photo is not stored yet")
        return self.image_id

    def source(self) -> SourceFace:
        return SourceFace(face=self.face, image=self.pixels)


def choose_face(faces: list[Face], role: CoupleRole) -> tuple[Face, str | None]:
    """The single face to use from a couple photo; several faces → the most prominent, said so."""
    if not faces:
        raise NoFaceFound(f"no face found in the {role} photo; use a clear, front-facing photo")
    if len(faces) == 1:
        return faces[0], None
    chosen = max(faces, key=lambda f: f.prominence)
    index = faces.index(chosen)  # numbered as template faces are: 0-based, left to right
    note = f"{len(faces)} faces in the {role} photo; using the most prominent (face {index}, counting from 0 on the left)"
    return chosen, note


def detect_source(ctx: AppContext, pixels: RGBImage, role: CoupleRole) -> tuple[Face, int, str | None]:
    engine = ctx.face_engine()
    faces = engine.detect(pixels)
    face, note = choose_face(faces, role)
    prepared = engine.prepare_source(SourceFace(face, pixels))
    # The engine says whether its swap takes the face for a glasses wearer: the note and the result agree.
    advice = source_advice(pixels, prepared, wears_glasses=engine.wears_glasses, role=role)
    return prepared, len(faces), "; ".join(filter(None, [note, *advice])) or None


def prepare_photo(ctx: AppContext, pixels: RGBImage, role: CoupleRole) -> CouplePhoto:
    """Detect and choose the face of a decoded couple photo; nothing is stored."""
    face, count, note = detect_source(ctx, pixels, role)
    return CouplePhoto(role, face, count, note, pixels)


def prepare_photo_file(ctx: AppContext, path: str, role: CoupleRole) -> CouplePhoto:
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
    ctx: AppContext, prepared: list[CouplePhoto], *, session_id: str | None, keep: bool = False
) -> list[CouplePhoto]:
    """Store prepared photos in one transaction (all or none)."""
    refuse_keep_in_public(ctx, keep)
    expires = None if keep else temporary_expiry(ctx)
    with files_guard() as ledger, transaction(ctx.sessions) as session:
        images = [
            store(ctx).save(
                session,
                ledger,
                photo.pixels,
                kind="photos",
                fmt=PHOTO_FORMAT,
                storage_type="permanent" if keep else "temporary",
                session_id=session_id,
                expires_at=expires,
            )
            for photo in prepared
        ]
        ids = [image.id for image in images]
    return [replace(p, image_id=image_id, keep=keep) for image_id, p in zip(ids, prepared, strict=True)]


def refuse_keep_in_public(ctx: AppContext, keep: bool) -> None:
    """The public demo stores nothing permanently: 'Keep' is refused there."""
    if keep and ctx.settings.is_public_demo:
        hours = f"{ctx.settings.temporary_ttl_hours:g}"
        raise InvalidRequest(
            f"this public demo keeps nothing permanently; photos are deleted after {hours} hours, choose the "
            "temporary storage"
        )


def temporary_expiry(ctx: AppContext) -> datetime:
    return utcnow() + timedelta(hours=ctx.settings.temporary_ttl_hours)
