"""Start a couple swap from photo files or stored photos, inline or on the queue."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from app.context import AppContext
from app.services import batches
from app.services.photos import CouplePhoto, prepare_photo_file, store_photos
from pipeline.errors import MappingError
from pipeline.mapping import parse_mapping_json

CLI_SESSION = "cli"


def parse_template_mappings(
    text: str | None, template_ids: list[int], *, label: str = "--mapping", per_face_allowed: bool = True
) -> dict[int, dict[str, str]]:
    """Mapping JSON for a batch: {"<template id>": {"<face index>": role}}, or (the CLI) one
    {"<face index>": role} for every template. Raises MappingError with a one-line reason."""
    if text is None or not str(text).strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MappingError(f"{label} is not valid JSON ({exc.msg})") from exc
    if isinstance(data, dict) and data and all(isinstance(v, dict) for v in data.values()):
        return {_template_key(key, template_ids, label): _face_roles(faces) for key, faces in data.items()}
    if not per_face_allowed:
        raise MappingError(f'{label} must look like {{"<template id>": {{"<face index>": "husband"}}}}')
    per_face = _face_roles(data)
    return {template_id: per_face for template_id in template_ids}


def _template_key(key: object, template_ids: list[int], label: str) -> int:
    text = str(key).strip()
    template_id = int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else None
    if template_id is None or template_id not in template_ids:
        raise MappingError(f"{label} names template {key!r}, which is not in the batch")
    return template_id


def _face_roles(faces: object) -> dict[str, str]:
    return {str(index): str(role) for index, role in parse_mapping_json(json.dumps(faces)).items()}


def start_from_files(
    ctx: AppContext,
    husband_path: str,
    wife_path: str,
    template_ids: list[int],
    mappings: Mapping[int, Mapping[str, str]],
    *,
    session_id: str = CLI_SESSION,
    enqueue: batches.Enqueue | None = None,
) -> str:
    batches.validate_templates(ctx, template_ids, mappings, viewer=session_id)
    prepared = [prepare_photo_file(ctx, husband_path, "husband"), prepare_photo_file(ctx, wife_path, "wife")]
    husband, wife = store_photos(ctx, prepared, session_id=session_id)
    return start_from_photos(ctx, husband, wife, template_ids, mappings, session_id=session_id, enqueue=enqueue)


def start_from_photos(
    ctx: AppContext,
    husband: CouplePhoto,
    wife: CouplePhoto,
    template_ids: list[int],
    mappings: Mapping[int, Mapping[str, str]],
    *,
    session_id: str | None,
    enqueue: batches.Enqueue | None = None,
) -> str:
    request = batches.BatchRequest(
        husband_photo_id=husband.image_id,
        wife_photo_id=wife.image_id,
        husband_face=husband.face,
        wife_face=wife.face,
        template_ids=template_ids,
        mappings=mappings,
        session_id=session_id,
        notes=[n for n in (husband.note, wife.note) if n],
    )
    return batches.create_batch(ctx, request, enqueue=enqueue)


def run_inline(
    ctx: AppContext, batch_id: str, on_done: Callable[[batches.TaskOutcome], None] | None = None
) -> None:
    """Execute every pending task of a batch in this process, in order."""
    for task_id in batches.pending_task_ids(ctx, batch_id):
        outcome = batches.execute_task(ctx, task_id)
        if on_done is not None:
            on_done(outcome)
