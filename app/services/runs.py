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

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.context import AppContext
from app.errors import ConsentRequired, InvalidRequest, QueueBusy
from app.services import batches, enhancing, quotas
from app.services import templates as template_service
from app.services.photos import CouplePhoto, UploadedPhoto, prepare_photo_file, store_photos
from app.storage import ReadAhead
from db.models import Batch, SwapTask
from pipeline.mapping import parse_id

CLI_SESSION = "cli"
QUEUE_LOCK_KEY = 0x0C05_0A11_0CA9  # pg advisory lock id: admitting new tasks, one request at a time
CONSENT_MESSAGE = 'tick "I have the consent of the people in these photos" before swapping'

Submit = Callable[[str], None]  # takes a committed batch id


@dataclass(frozen=True)
class RunLimits:
    """Limits for shared servers (the UI and its API); the CLI runs without them."""

    max_templates: int = 12
    max_session_backlog: int = 24  # unfinished tasks one visitor may have (FACESWAP_MAX_PENDING_TASKS)
    max_backlog: int = 200  # unfinished tasks on the whole server before "busy, try again"
    max_address_backlog: int | None = None  # unfinished tasks of one client address (public mode)


@dataclass(frozen=True)
class CheckedRequest:
    """Templates and mappings that `check_request` validated; made only there."""

    template_ids: list[int]
    mappings: Mapping[int, Mapping[str, str]] = field(default_factory=dict)
    session_id: str = CLI_SESSION
    limits: RunLimits | None = None  # checked again, atomically, when the batch is recorded
    address: str | None = None
    enhance: float | None = None  # face enhancer strength, checked available; None: not asked for


def require_consent(consent: bool) -> None:
    if consent is not True:
        raise ConsentRequired(CONSENT_MESSAGE)


Couple = CouplePhoto | UploadedPhoto


def require_couple(husband: Couple | None, wife: Couple | None) -> tuple[Couple, Couple]:
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
    address: str | None = None,
    ready_only: bool = False,
    enhance: float | None = None,
) -> CheckedRequest:
    """Validate once, before anything is stored: consent (when asked for), templates, mappings,
    and (with limits) size and capacity. With `ready_only` (the UI and its API) a template that is
    not ready is refused; the CLI records it as a failed task, with the reason. `enhance` (a strength)
    is refused with the reason when the face enhancer cannot run."""
    if consent is not None:
        require_consent(consent)
    if not template_ids:
        raise InvalidRequest("pick at least one template")
    if limits is not None and len(template_ids) > limits.max_templates:
        raise InvalidRequest(f"pick at most {limits.max_templates} templates per run")
    ids = batches.validate_templates(ctx, template_ids, mappings, viewer=session_id)
    if ready_only:
        template_service.require_ready(ctx, ids, viewer=session_id)
    strength = enhancing.requested_strength(ctx, enhance is not None, enhance)
    if limits is not None:
        check_capacity(ctx, session_id, len(ids), limits, address=address)
    return CheckedRequest(ids, dict(mappings), session_id, limits, address, strength)


def check_capacity(
    ctx: AppContext, session_id: str, wanted: int, limits: RunLimits, *, address: str | None = None
) -> None:
    """Refuse new work with a clear 'busy' when the server, this visitor or this address has too much
    waiting. A quick check before anything is stored; `start_batch` checks again under a lock."""
    with ctx.sessions() as session:
        _admit(session, _owners(ctx, session_id, address, limits), wanted, limits)


def _owners(ctx: AppContext, session_id: str, address: str | None, limits: RunLimits) -> list[str]:
    if limits.max_address_backlog is None or not address:
        return [session_id]
    return quotas.keys_of_address(ctx, session_id, address)


def _admit(session: Session, owners: list[str], wanted: int, limits: RunLimits) -> None:
    """Count the unfinished tasks (all, this visitor's, its address's) and refuse past a limit.
    `owners[0]` is the visitor; the rest are other keys its address used."""
    unfinished = SwapTask.status.in_(("pending", "running"))
    total = session.execute(select(func.count()).select_from(SwapTask).where(unfinished)).scalar_one()
    if total + wanted > limits.max_backlog:
        raise QueueBusy(f"the server is busy ({total} swaps waiting); try again in a minute")
    per_owner = dict(
        session.execute(
            select(Batch.session_id, func.count())
            .select_from(SwapTask)
            .join(Batch, SwapTask.batch_id == Batch.batch_id)
            .where(unfinished, Batch.session_id.in_(owners))
            .group_by(Batch.session_id)
        ).all()
    )
    mine = int(per_owner.get(owners[0], 0))
    if mine + wanted > limits.max_session_backlog:
        raise QueueBusy(
            f"you already have {mine} swaps waiting or running and may have at most {limits.max_session_backlog}; "
            "let them finish first"
        )
    together = sum(int(count) for count in per_owner.values())
    if limits.max_address_backlog is not None and together + wanted > limits.max_address_backlog:
        raise QueueBusy(
            f"visitors from your address have {together} swaps waiting or running; one address may have at most "
            f"{limits.max_address_backlog}. Let them finish first"
        )


def _lock_queue(session: Session) -> None:
    """Serialise admissions: a transaction-level advisory lock on PostgreSQL; on SQLite a write first,
    which holds the database's write lock until commit. Count and insert then happen as one unit."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": QUEUE_LOCK_KEY})
    else:
        session.execute(text("DELETE FROM faceswap_tasks WHERE 1 = 0"))


def start_batch(
    ctx: AppContext,
    checked: CheckedRequest,
    husband: Couple | None,
    wife: Couple | None,
    *,
    submit: Submit | None = None,
) -> str:
    """Store the couple photos that are not stored yet (in one transaction), record the batch
    and hand its id to `submit` after commit. Returns the batch id."""
    husband, wife = require_couple(husband, wife)
    if isinstance(husband, CouplePhoto) and isinstance(wife, CouplePhoto):
        if husband.image_id is None or wife.image_id is None:
            husband, wife = store_photos(ctx, [husband, wife], session_id=checked.session_id)
    request = batches.BatchRequest(
        husband=husband,
        wife=wife,
        template_ids=checked.template_ids,
        mappings=checked.mappings,
        session_id=checked.session_id,
        enhance=checked.enhance,
    )
    admit = None
    if checked.limits is not None:
        limits = checked.limits
        owners = _owners(ctx, checked.session_id, checked.address, limits)

        def admit(session: Session, wanted: int) -> None:
            _lock_queue(session)
            _admit(session, owners, wanted, limits)

    batch_id = batches.record_batch(ctx, request, admit=admit)
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
    enhance: float | None = None,
) -> str:
    """The CLI's start: check, read both photo files, then `start_batch`."""
    checked = check_request(ctx, template_ids, mappings, session_id=session_id, enhance=enhance)
    husband = prepare_photo_file(ctx, husband_path, "husband")
    wife = prepare_photo_file(ctx, wife_path, "wife")
    return start_batch(ctx, checked, husband, wife, submit=submit)


def run_inline(
    ctx: AppContext, batch_id: str, on_done: Callable[[batches.TaskOutcome], None] | None = None
) -> None:
    """Execute every pending task of a batch in this process, in order; the next task's template is
    decoded on a thread while the current one is swapped."""
    task_ids = batches.pending_task_ids(ctx, batch_id)
    keys = batches.pending_template_keys(ctx, batch_id)
    with ReadAhead(ctx.image_store.read_key) as ahead:
        for index, task_id in enumerate(task_ids):
            following = keys.get(task_ids[index + 1]) if index + 1 < len(task_ids) else None
            if following is not None:
                ahead.request(following)
            outcome = batches.execute_task(ctx, task_id, read_template=ahead.read)
            if on_done is not None:
                on_done(outcome)
