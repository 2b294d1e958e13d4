"""Start a couple swap: the one start-batch path, shared by the CLI, the UI and the `/swap` API.

`check_request` validates the templates, mappings, limits and capacity once, before anything is
stored; `start_batch` stores the couple photos if needed, records the batch and hands its id to
the injected `submit` callable (the queue, or a background thread). Services never import the
queue itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from app.context import AppContext
from app.errors import ConsentRequired, InvalidRequest, QueueBusy
from app.services import batches
from app.services.photos import CouplePhoto, prepare_photo_file, store_photos
from app.storage import ReadAhead
from db.models import Batch, SwapTask
from pipeline.mapping import parse_id

CLI_SESSION = "cli"
CONSENT_MESSAGE = 'tick "I have the consent of the people in these photos" before swapping'

Submit = Callable[[str], None]  # takes a committed batch id


@dataclass(frozen=True)
class RunLimits:
    """Limits for shared servers (the UI and its API); the CLI runs without them."""

    max_templates: int = 12
    max_session_backlog: int = 24  # unfinished tasks one session may have (FACESWAP_MAX_PENDING_TASKS)
    max_backlog: int = 200  # unfinished tasks on the whole server before "busy, try again"


@dataclass(frozen=True)
class CheckedRequest:
    """Templates and mappings that `check_request` validated; made only there."""

    template_ids: list[int]
    mappings: Mapping[int, Mapping[str, str]] = field(default_factory=dict)
    session_id: str = CLI_SESSION


def require_consent(consent: bool) -> None:
    if consent is not True:
        raise ConsentRequired(CONSENT_MESSAGE)


def require_couple(husband: CouplePhoto | None, wife: CouplePhoto | None) -> tuple[CouplePhoto, CouplePhoto]:
    if husband is None:
        raise InvalidRequest("upload a husband photo first")
    if wife is None:
        raise InvalidRequest("upload a wife photo first")
    return husband, wife


def parse_template_ids(value: str | list[Any] | None) -> list[int]:
    """'1, 3,4' (or a list of ids) → [1, 3, 4]; refuses anything that is not a whole number."""
    items = value if isinstance(value, list) else str(value or "").replace(";", ",").split(",")
    ids: list[int] = []
    for item in items:
        text = str(item).strip()
        if not text:
            continue
        template_id = parse_id(text)
        if template_id is None:
            raise InvalidRequest(f"template ids must be whole numbers separated by commas, got {text[:20]!r}")
        ids.append(template_id)
    if not ids:
        raise InvalidRequest("pick at least one template")
    return list(dict.fromkeys(ids))


def check_request(
    ctx: AppContext,
    template_ids: list[int],
    mappings: Mapping[int, Mapping[str, str]],
    *,
    session_id: str = CLI_SESSION,
    limits: RunLimits | None = None,
    consent: bool | None = None,
) -> CheckedRequest:
    """Validate once, before anything is stored: consent (when asked for), templates, mappings,
    and (with limits) size and capacity."""
    if consent is not None:
        require_consent(consent)
    if not template_ids:
        raise InvalidRequest("pick at least one template")
    if limits is not None and len(template_ids) > limits.max_templates:
        raise InvalidRequest(f"pick at most {limits.max_templates} templates per run")
    ids = batches.validate_templates(ctx, template_ids, mappings, viewer=session_id)
    if limits is not None:
        check_capacity(ctx, session_id, len(ids), limits)
    return CheckedRequest(ids, dict(mappings), session_id)


def check_capacity(ctx: AppContext, session_id: str, wanted: int, limits: RunLimits) -> None:
    """Refuse new work with a clear 'busy' when the server or this session has too much waiting."""
    unfinished = SwapTask.status.in_(("pending", "running"))
    with ctx.sessions() as session:
        total = session.execute(select(func.count()).select_from(SwapTask).where(unfinished)).scalar_one()
        mine = session.execute(
            select(func.count())
            .select_from(SwapTask)
            .join(Batch, SwapTask.batch_id == Batch.batch_id)
            .where(unfinished, Batch.session_id == session_id)
        ).scalar_one()
    if total + wanted > limits.max_backlog:
        raise QueueBusy(f"the server is busy ({total} swaps waiting); try again in a minute")
    if mine + wanted > limits.max_session_backlog:
        raise QueueBusy(
            f"you already have {mine} swaps waiting or running and may have at most {limits.max_session_backlog}; "
            "let them finish first"
        )


def start_batch(
    ctx: AppContext,
    checked: CheckedRequest,
    husband: CouplePhoto | None,
    wife: CouplePhoto | None,
    *,
    submit: Submit | None = None,
) -> str:
    """Store the couple photos that are not stored yet (in one transaction), record the batch
    and hand its id to `submit` after commit. Returns the batch id."""
    husband, wife = require_couple(husband, wife)
    if husband.image_id is None or wife.image_id is None:
        husband, wife = store_photos(ctx, [husband, wife], session_id=checked.session_id)
    request = batches.BatchRequest(
        husband=husband,
        wife=wife,
        template_ids=checked.template_ids,
        mappings=checked.mappings,
        session_id=checked.session_id,
    )
    batch_id = batches.record_batch(ctx, request)
    if submit is not None:
        submit(batch_id)
    return batch_id


def start_from_files(
    ctx: AppContext,
    husband_path: str,
    wife_path: str,
    template_ids: list[int],
    mappings: Mapping[int, Mapping[str, str]],
    *,
    session_id: str = CLI_SESSION,
    submit: Submit | None = None,
) -> str:
    """The CLI's start: check, read both photo files, then `start_batch`."""
    checked = check_request(ctx, template_ids, mappings, session_id=session_id)
    husband = prepare_photo_file(ctx, husband_path, "husband")
    wife = prepare_photo_file(ctx, wife_path, "wife")
    return start_batch(ctx, checked, husband, wife, submit=submit)


def run_inline(
    ctx: AppContext, batch_id: str, on_done: Callable[[batches.TaskOutcome], None] | None = None
) -> None:
    """Execute every pending task of a batch in this process, in order; the next task's template is
    decoded on a thread while the current one is swapped."""
    task_ids = batches.pending_task_ids(ctx, batch_id)
    paths = batches.pending_template_paths(ctx, batch_id)
    with ReadAhead() as ahead:
        for index, task_id in enumerate(task_ids):
            following = paths.get(task_ids[index + 1]) if index + 1 < len(task_ids) else None
            if following is not None:
                ahead.request(following)
            outcome = batches.execute_task(ctx, task_id, read_template=ahead.read)
            if on_done is not None:
                on_done(outcome)
