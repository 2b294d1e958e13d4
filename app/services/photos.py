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
from pipeline.face import Face, Gender, RGBImage, SourceFace
from pipeline.intake import decode_image, read_image_file

CoupleRole = Literal["husband", "wife"]


@dataclass(frozen=True)
class CouplePhoto:
    """The one couple-photo type, from upload to worker: the chosen face and its pixels.

    `image_id` is None until the photo is stored; `keep` says it is stored as permanent.
    `candidates` are every face found, left to right (as detected, before source preparation);
    `face_index` is the one in use, counted from 0 on the left, like template faces.
    """

    role: CoupleRole
    face: Face
    faces_found: int
    note: str | None
    pixels: RGBImage = field(repr=False)
    image_id: int | None = None
    keep: bool = False
    candidates: tuple[Face, ...] = field(default=(), repr=False)
    face_index: int = 0
    prominent_index: int = 0

    @property
    def stored_id(self) -> int:
        """The image id of a stored photo; refuses a photo that was never stored."""
        if self.image_id is None:
            raise InvalidRequest(f"the {self.role} photo is not stored yet")
        return self.image_id

    def source(self) -> SourceFace:
        return SourceFace(face=self.face, image=self.pixels)


@dataclass(frozen=True)
class UploadedPhoto:
    """A couple photo stored as it was uploaded (decoded and checked), its faces not yet found.

    `/swap` stores its photos so: the worker that first needs them finds the faces once for the batch
    (app/services/couple_analysis.py), so the request itself does no face work. `face_index` is the
    face asked for (counted from 0 on the left), None for the most prominent.
    """

    role: CoupleRole
    image_id: int
    face_index: int | None = None

    @property
    def stored_id(self) -> int:
        return self.image_id


def choose_face(faces: list[Face], role: CoupleRole) -> tuple[Face, str | None]:
    """The single face to use from a couple photo; several faces → the most prominent of the role's
    gender (a man for the husband, a woman for the wife), else the most prominent of all, said so."""
    if not faces:
        raise NoFaceFound(f"no face found in the {role} photo; use a clear, front-facing photo")
    if len(faces) == 1:
        return faces[0], None
    wanted = Gender.MALE if role == "husband" else Gender.FEMALE
    fitting = [face for face in faces if face.gender == wanted]
    chosen = max(fitting or faces, key=lambda f: f.prominence)
    index = faces.index(chosen)  # numbered as template faces are: 0-based, left to right
    who = ("man" if wanted == Gender.MALE else "woman") if fitting else "face"
    note = f"{len(faces)} faces in the {role} photo; using the most prominent {who} (face {index}, counting from 0 on the left)"
    return chosen, note


def pick_face(faces: list[Face], role: CoupleRole, index: int | None) -> tuple[int, str | None]:
    """The index (0-based, left to right) of the face to use: `index` when given (refused when it is
    not one of the faces), else the most prominent; and the note that says which, when there are several."""
    chosen, note = choose_face(faces, role)
    if index is None:
        return faces.index(chosen), note
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(faces):
        found = "1 face (face 0)" if len(faces) == 1 else f"{len(faces)} faces (0 to {len(faces) - 1}, from the left)"
        raise InvalidRequest(f"the {role} photo has {found}; there is no face {index}")
    if len(faces) == 1:
        return 0, None
    return index, f"{len(faces)} faces in the {role} photo; using face {index} (counting from 0 on the left), as chosen"


def prepare_photo(ctx: AppContext, pixels: RGBImage, role: CoupleRole, face_index: int | None = None) -> CouplePhoto:
    """Detect the faces of a decoded couple photo and prepare the chosen one (`face_index`, else the
    most prominent); nothing is stored."""
    faces = ctx.face_engine().detect(pixels)
    index, note = pick_face(faces, role, face_index)
    prominent = faces.index(choose_face(faces, role)[0])
    photo = CouplePhoto(role, faces[index], len(faces), None, pixels, candidates=tuple(faces), prominent_index=prominent)
    return _prepared(ctx, photo, index, note)


def with_face(ctx: AppContext, photo: CouplePhoto, index: int) -> CouplePhoto:
    """The same photo (stored or not) with another of its faces in use; refuses an index it does not have."""
    faces = list(photo.candidates) or [photo.face]
    chosen, note = pick_face(faces, photo.role, index)
    return _prepared(ctx, replace(photo, face=faces[chosen]), chosen, note)


def _prepared(ctx: AppContext, photo: CouplePhoto, index: int, note: str | None) -> CouplePhoto:
    engine = ctx.face_engine()
    prepared = engine.prepare_source(SourceFace(photo.candidates[index] if photo.candidates else photo.face, photo.pixels))
    # The engine says whether its swap takes the face for a glasses wearer: the note and the result agree.
    advice = source_advice(photo.pixels, prepared, wears_glasses=engine.wears_glasses, role=photo.role)
    return replace(photo, face=prepared, face_index=index, note="; ".join(filter(None, [note, *advice])) or None)


def prepare_photo_file(ctx: AppContext, path: str, role: CoupleRole, face_index: int | None = None) -> CouplePhoto:
    return prepare_photo(ctx, read_image_file(path, max_side=ctx.settings.max_image_side).array, role, face_index)


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
    ids = _store_pixels(ctx, [photo.pixels for photo in prepared], session_id=session_id, keep=keep)
    return [replace(p, image_id=image_id, keep=keep) for image_id, p in zip(ids, prepared, strict=True)]


def store_uploaded(
    ctx: AppContext, uploads: list[tuple[CoupleRole, RGBImage, int | None]], *, session_id: str | None
) -> list[UploadedPhoto]:
    """Store decoded photos (role, pixels, face asked for) as temporary, in one transaction, unanalysed."""
    ids = _store_pixels(ctx, [pixels for _role, pixels, _index in uploads], session_id=session_id, keep=False)
    return [UploadedPhoto(role, image_id, index) for image_id, (role, _pixels, index) in zip(ids, uploads, strict=True)]


def _store_pixels(ctx: AppContext, images: list[RGBImage], *, session_id: str | None, keep: bool) -> list[int]:
    refuse_keep_in_public(ctx, keep)
    expires = None if keep else temporary_expiry(ctx)
    with files_guard() as ledger, transaction(ctx.sessions) as session:
        rows = [
            store(ctx).save(
                session,
                ledger,
                pixels,
                kind="photos",
                fmt=PHOTO_FORMAT,
                storage_type="permanent" if keep else "temporary",
                session_id=session_id,
                expires_at=expires,
            )
            for pixels in images
        ]
        return [row.id for row in rows]


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
