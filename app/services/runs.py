"""Start a couple swap from photo files or stored photos, inline or on the queue."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from app.context import AppContext
from app.services import batches
from app.services.photos import CouplePhoto, prepare_photo_file, store_photos
from pipeline.mapping import parse_mapping_json

CLI_SESSION = "cli"


def parse_template_mappings(text: str | None, template_ids: list[int]) -> dict[int, dict[str, str]]:
    """`--mapping` JSON: either one face mapping for every template, or keyed by template id."""
    if not text:
        return {}
    import json

    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        from app.errors import InvalidRequest

        raise InvalidRequest(f"--mapping is not valid JSON: {exc.msg}") from exc
    if isinstance(data, dict) and data and all(isinstance(v, dict) for v in data.values()):
        return {int(k): {str(i): str(r) for i, r in parse_mapping_json(json.dumps(v)).items()} for k, v in data.items()}
    per_face = {str(i): str(r) for i, r in parse_mapping_json(text).items()}
    return {template_id: per_face for template_id in template_ids}


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
    batches.validate_templates(ctx, template_ids, mappings)
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
