"""Uploaded files from the web UI and its API: size-checked reads, couple photos, the `/swap` use case.

Nothing here keeps per-user data; callers pass the visitor's key (and address) every time.
"""

from __future__ import annotations

import os
from typing import Any

from app.context import AppContext
from app.errors import InvalidRequest
from app.polling import wait_for
from app.services import batches, photos, quotas, runs, sessions
from app.services.reports import BatchReport
from app.services.photos import CouplePhoto, CoupleRole
from pipeline.errors import ImageRejected
from pipeline.face import RGBImage
from pipeline.intake import decode_image
from pipeline.mapping import parse_batch_mapping

WAIT_POLL_SECONDS = (0.05, 0.4)  # first and longest wait between reads of a batch's progress


def read_upload(ctx: AppContext, path: str | os.PathLike[str]) -> bytes:
    """The bytes of an uploaded file, refused when it is larger than the upload limit."""
    limit = ctx.settings.max_upload_mb * 1024 * 1024
    try:
        size = os.stat(path).st_size
        if size > limit:
            raise ImageRejected(f"file too large ({size / 1e6:.1f} MB); the limit is {ctx.settings.max_upload_mb} MB")
        with open(path, "rb") as handle:
            return handle.read(limit + 1)
    except FileNotFoundError as exc:
        raise ImageRejected("the uploaded file is gone; upload it again") from exc
    except IsADirectoryError as exc:
        raise ImageRejected("expected an image file") from exc


def decode_upload(ctx: AppContext, path: str | None, role: CoupleRole) -> RGBImage:
    """Safe intake of an uploaded couple photo: its pixels, refused with one line when it is no image."""
    if not path:
        raise InvalidRequest(f"no {role} photo given")
    return decode_image(read_upload(ctx, path), max_side=ctx.settings.max_image_side).array


def prepare_upload(
    ctx: AppContext, path: str | None, role: CoupleRole, face_index: int | None = None
) -> CouplePhoto:
    """Safe intake of an uploaded couple photo with exactly one face chosen (`face_index`, counted from 0
    on the left, else the most prominent); nothing is stored."""
    return photos.prepare_photo(ctx, decode_upload(ctx, path, role), role, face_index)


def face_index(value: Any, role: CoupleRole) -> int | None:
    """An optional face index from a caller ("", None: the most prominent face), refused unless a whole number >= 0."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = -1.0
    if isinstance(value, bool) or number < 0 or not number.is_integer():
        raise InvalidRequest(f"the {role} face must be a face index (0, 1, ... from the left), got {str(value)[:20]!r}")
    return int(number)


def upload_photo(
    ctx: AppContext,
    path: str | None,
    *,
    role: CoupleRole,
    session_id: str | None,
    keep: bool,
    address: str | None = None,
) -> CouplePhoto:
    """`prepare_upload`, then stored for this visitor (temporary unless `keep`, which public mode refuses)."""
    sid = sessions.require_session(session_id)
    photos.refuse_keep_in_public(ctx, keep)
    if path:
        quotas.check_storage(ctx, quotas.file_sizes([path]))
        quotas.record_uploads(ctx, sid, 1, address)  # public mode: uploads an hour
    [photo] = photos.store_photos(ctx, [prepare_upload(ctx, path, role)], session_id=sid, keep=keep)
    return photo


def swap_files(
    ctx: AppContext,
    submit: runs.Submit,
    *,
    session_id: str | None,
    husband_path: str | None,
    wife_path: str | None,
    template_ids: str | list[Any] | None,
    mapping_json: str | None,
    consent: bool,
    limits: runs.RunLimits,
    timeout: float = 120.0,
    address: str | None = None,
    husband_face: int | None = None,
    wife_face: int | None = None,
    enhance: float | None = None,
) -> BatchReport:
    """The `/swap` endpoint: consent first, then every input is checked before anything is stored.
    The photos are decoded and stored here; their faces are found by the batch's first task on the
    queue (app/services/couple_analysis.py), so this request does no face work. `husband_face` /
    `wife_face` pick a face of a photo with several (else the most prominent); a photo without it
    fails the batch with the reason. `enhance` is the face enhancer's strength (None: not asked for)."""
    sid = sessions.require_session(session_id)
    runs.require_consent(consent)
    ids = runs.parse_template_ids(template_ids)
    mappings = parse_batch_mapping(mapping_json, ids, label="mapping_json", per_face_allowed=False)
    checked = runs.check_request(
        ctx, ids, mappings, session_id=sid, limits=limits, address=address, ready_only=True, enhance=enhance
    )
    quotas.check_storage(ctx, quotas.file_sizes([husband_path, wife_path]))
    quotas.record_uploads(ctx, sid, 2, address)
    decoded = [
        ("husband", decode_upload(ctx, husband_path, "husband"), husband_face),
        ("wife", decode_upload(ctx, wife_path, "wife"), wife_face),
    ]
    husband, wife = photos.store_uploaded(ctx, decoded, session_id=sid)  # type: ignore[arg-type]
    batch_id = runs.start_batch(ctx, checked, husband, wife, submit=submit)
    return wait_for_batch(ctx, sid, batch_id, timeout=timeout)


def wait_for_batch(ctx: AppContext, session_id: str, batch_id: str, *, timeout: float) -> BatchReport:
    """Wait until every task of this session's batch is done or `timeout` passes (one light read per
    poll, at growing intervals); returns the batch's report."""
    wait_for(
        lambda: batches.batch_finished(ctx, batch_id, session_id=session_id),
        bool,
        timeout=timeout,
        interval=WAIT_POLL_SECONDS[0],
        max_interval=WAIT_POLL_SECONDS[1],
    )
    return sessions.my_batch_report(ctx, session_id, batch_id)
