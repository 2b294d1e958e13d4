"""What the web UI and its API do: take uploads, start swaps, wait for them, say which engine runs.

`make_submitter` is the one place that decides how a batch runs: on the Huey queue (the
embedded consumer of `serve`, or `worker` processes on Redis) or inline in a background thread.
Nothing here keeps per-user data; callers pass the session id every time.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import func, select

from app.context import AppContext
from app.errors import ConsentRequired, InvalidRequest, QueueBusy
from app.services import batches, photos, quotas, runs, sessions
from app.services import templates as template_service
from db.models import FaceswapTask
from pipeline.errors import ImageRejected
from pipeline.face import Face, RGBImage
from pipeline.intake import decode_image
from pipeline.mapping import Role

log = logging.getLogger(__name__)

Submit = Callable[[str], None]
SubmitMode = Literal["auto", "queue", "inline"]

MAX_TEMPLATES_PER_RUN = 12
MAX_BACKLOG = 200  # unfinished tasks on the whole server before "busy, try again"
WAIT_POLL_SECONDS = 0.1
CONSENT_MESSAGE = 'tick "I have the consent of the people in these photos" before swapping'


@dataclass(frozen=True)
class PhotoRef:
    """What a session remembers about one uploaded couple photo (no pixels)."""

    image_id: int
    role: photos.CoupleRole
    face: dict[str, Any]
    faces_found: int
    note: str | None
    keep: bool

    def couple_face(self) -> Face:
        return Face.from_dict(self.face)


@dataclass(frozen=True)
class UploadedPhoto:
    ref: PhotoRef
    pixels: RGBImage


# ---------------------------------------------------------------- uploads


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


def upload_photo(
    ctx: AppContext, path: str | None, *, role: photos.CoupleRole, session_id: str | None, keep: bool
) -> UploadedPhoto:
    """Safe intake, exactly one face chosen, stored for this session (temporary unless `keep`)."""
    sid = sessions.require_session(session_id)
    if not path:
        raise InvalidRequest(f"no {role} photo given")
    quotas.record_uploads(ctx, sid, 1)
    photo = photos.ingest_photo(ctx, read_upload(ctx, path), role=role, session_id=sid, keep=keep)
    ref = PhotoRef(
        image_id=photo.image_id,
        role=role,
        face=photo.face.to_dict(with_embedding=True),
        faces_found=photo.faces_found,
        note=photo.note,
        keep=keep,
    )
    return UploadedPhoto(ref, photo.pixels)


def add_templates(
    ctx: AppContext,
    paths: list[str],
    *,
    name: str | None = None,
    on_progress: Callable[[int, int, str], None] | None = None,
) -> list[tuple[str, template_service.TemplateSummary | None, str | None]]:
    """Add uploaded images as templates and preprocess each at once.

    Returns (file name, summary or None, refusal or None) per file; one bad file does not
    stop the others.
    """
    from app.errors import ServiceError
    from pipeline.errors import PipelineError

    if not paths:
        raise InvalidRequest("choose one or more image files to add")
    outcomes: list[tuple[str, template_service.TemplateSummary | None, str | None]] = []
    for number, path in enumerate(paths, start=1):
        label = Path(path).name
        if on_progress is not None:
            on_progress(number - 1, len(paths), label)
        try:
            decoded = template_service.decode_upload(ctx, read_upload(ctx, path))
            title = _template_title(name, Path(path).stem, number, len(paths))
            outcomes.append((label, template_service.add_template_image(ctx, decoded, name=title), None))
        except (ServiceError, PipelineError) as exc:
            outcomes.append((label, None, _one_line(exc)))
    if on_progress is not None:
        on_progress(len(paths), len(paths), "done")
    return outcomes


def _template_title(name: str | None, stem: str, number: int, count: int) -> str:
    if name and name.strip():
        return name.strip() if count == 1 else f"{name.strip()} {number}"
    return stem.replace("_", " ").strip()[:200] or f"template {number}"


# ---------------------------------------------------------------- face mapping


def default_roles(ctx: AppContext, template_id: int) -> tuple[list[Face], dict[int, Role], str | None]:
    """The stored faces of a template (left to right) and the automatic mapping for them."""
    from app.services.swapping import resolve_roles

    faces = template_service.stored_faces(ctx, template_id) or []
    if not faces:
        return [], {}, None
    roles, note = resolve_roles(faces, None)
    return faces, roles, note


def with_role(
    mappings: Mapping[str, Mapping[str, str]] | None,
    template_id: int,
    defaults: Mapping[int, str],
    index: int,
    role: str,
) -> dict[str, dict[str, str]]:
    """A new mapping state with one face set by hand; a template once touched is named in full."""
    current = {str(k): dict(v) for k, v in (mappings or {}).items()}
    faces = current.get(str(template_id)) or {str(i): str(r) for i, r in defaults.items()}
    faces[str(index)] = role
    current[str(template_id)] = faces
    return current


def without_templates(
    mappings: Mapping[str, Mapping[str, str]] | None, template_ids: list[int]
) -> dict[str, dict[str, str]]:
    """The mapping state with these templates back to automatic."""
    drop = {str(t) for t in template_ids}
    return {str(k): dict(v) for k, v in (mappings or {}).items() if str(k) not in drop}


def mappings_for(
    mappings: Mapping[str, Mapping[str, str]] | None, template_ids: list[int]
) -> dict[int, dict[str, str]]:
    """The hand-set mappings of the templates in this run, in the shape runs/batches expect."""
    chosen = set(template_ids)
    return {int(k): dict(v) for k, v in (mappings or {}).items() if int(k) in chosen}


def parse_template_ids(value: str | list[Any] | None) -> list[int]:
    """'1, 3,4' (or a list of ids) → [1, 3, 4]; refuses anything that is not a whole number."""
    items = value if isinstance(value, list) else str(value or "").replace(";", ",").split(",")
    ids: list[int] = []
    for item in items:
        text = str(item).strip()
        if not text:
            continue
        if not (text.isascii() and text.isdigit()) or len(text) > 9:
            raise InvalidRequest(f"template ids must be whole numbers separated by commas, got {text[:20]!r}")
        ids.append(int(text))
    if not ids:
        raise InvalidRequest("pick at least one template")
    return list(dict.fromkeys(ids))


def parse_mapping_json(text: str | None, template_ids: list[int]) -> dict[int, dict[str, str]]:
    """'' → automatic; else {"<template id>": {"<face index>": "husband"|"wife"|"keep"}}."""
    return runs.parse_template_mappings(text, template_ids, label="mapping_json", per_face_allowed=False)


# ---------------------------------------------------------------- running


def make_submitter(ctx: AppContext, mode: SubmitMode = "auto") -> Submit:
    """How batches run. 'queue': Huey (needs a consumer: `serve` starts one on the embedded default,
    `worker` on Redis); 'inline': a background thread of this process; 'auto': the queue."""
    if mode in ("auto", "queue"):
        from app.tasks import enqueue_swap_tasks, make_huey

        huey = make_huey(ctx.settings)

        def enqueue(batch_id: str) -> None:
            enqueue_swap_tasks(huey, batches.pending_task_ids(ctx, batch_id))

        return enqueue
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="coswap-inline")

    def run_in_background(batch_id: str) -> None:
        executor.submit(_run_inline_logged, ctx, batch_id)

    return run_in_background


def _run_inline_logged(ctx: AppContext, batch_id: str) -> None:
    from app.services.runs import run_inline

    try:
        run_inline(ctx, batch_id)
    except Exception:  # a background thread has nobody to raise to
        log.exception("inline batch %s stopped", batch_id[:8])


def check_capacity(ctx: AppContext, session_id: str, wanted: int) -> None:
    """Refuse new work with a clear 'busy' when the server has too much waiting, and with a quota
    message when this session has (settings.max_pending_tasks)."""
    unfinished = FaceswapTask.status.in_(("pending", "running"))
    with ctx.sessions() as session:
        total = session.execute(select(func.count()).select_from(FaceswapTask).where(unfinished)).scalar_one()
    if total + wanted > MAX_BACKLOG:
        raise QueueBusy(f"the server is busy ({total} swaps waiting); try again in a minute")
    quotas.check_pending_tasks(ctx, session_id, wanted)


def start_batch(
    ctx: AppContext,
    submit: Submit,
    *,
    session_id: str | None,
    husband: PhotoRef | None,
    wife: PhotoRef | None,
    template_ids: list[int],
    mappings: Mapping[int, Mapping[str, str]],
    consent: bool,
) -> str:
    """Check consent, photos and capacity, record the batch for this session and submit it."""
    sid = sessions.require_session(session_id)
    if consent is not True:
        raise ConsentRequired(CONSENT_MESSAGE)
    if husband is None:
        raise InvalidRequest("upload a husband photo first")
    if wife is None:
        raise InvalidRequest("upload a wife photo first")
    if not template_ids:
        raise InvalidRequest("pick at least one template")
    if len(template_ids) > MAX_TEMPLATES_PER_RUN:
        raise InvalidRequest(f"pick at most {MAX_TEMPLATES_PER_RUN} templates per run")
    check_capacity(ctx, sid, len(template_ids))
    request = batches.BatchRequest(
        husband_photo_id=husband.image_id,
        wife_photo_id=wife.image_id,
        husband_face=husband.couple_face(),
        wife_face=wife.couple_face(),
        template_ids=template_ids,
        mappings=mappings,
        session_id=sid,
        notes=[n for n in (husband.note, wife.note) if n],
    )
    batch_id = batches.create_batch(ctx, request)
    submit(batch_id)
    return batch_id


def swap_files(
    ctx: AppContext,
    submit: Submit,
    *,
    session_id: str | None,
    husband_path: str | None,
    wife_path: str | None,
    template_ids: str | list[Any] | None,
    mapping_json: str | None,
    consent: bool,
    timeout: float = 120.0,
) -> dict[str, Any]:
    """The `/swap` endpoint: consent first, then every input is checked before anything is stored."""
    sid = sessions.require_session(session_id)
    if consent is not True:
        raise ConsentRequired(CONSENT_MESSAGE)
    ids = parse_template_ids(template_ids)
    mappings = parse_mapping_json(mapping_json, ids)
    batches.validate_templates(ctx, ids, mappings, viewer=sid)
    prepared = []
    for role, path in (("husband", husband_path), ("wife", wife_path)):
        if not path:
            raise InvalidRequest(f"no {role} photo given")
        pixels = decode_image(read_upload(ctx, path), max_side=ctx.settings.max_image_side).array
        prepared.append(photos.prepare_photo(ctx, pixels, role))  # type: ignore[arg-type]
    check_capacity(ctx, sid, len(ids))
    quotas.record_uploads(ctx, sid, 2)
    husband, wife = photos.store_photos(ctx, prepared, session_id=sid)
    refs = [
        PhotoRef(p.image_id, p.role, p.face.to_dict(with_embedding=True), p.faces_found, p.note, False)
        for p in (husband, wife)
    ]
    batch_id = start_batch(
        ctx, submit, session_id=sid, husband=refs[0], wife=refs[1], template_ids=ids, mappings=mappings, consent=True
    )
    return wait_for_batch(ctx, sid, batch_id, timeout=timeout)


def wait_for_batch(ctx: AppContext, session_id: str, batch_id: str, *, timeout: float) -> dict[str, Any]:
    """Poll this session's batch until every task is done or `timeout` passes; returns the report."""
    deadline = time.monotonic() + timeout
    while True:
        report = sessions.batch_report(ctx, session_id, batch_id)
        if report["completed"] + report["failed"] >= report["total"] or time.monotonic() >= deadline:
            return report
        time.sleep(WAIT_POLL_SECONDS)


def is_finished(report: Mapping[str, Any]) -> bool:
    return int(report["completed"]) + int(report["failed"]) >= int(report["total"])


# ---------------------------------------------------------------- engine status


@dataclass(frozen=True)
class EngineStatus:
    name: str
    line: str  # "classic (offline)" or "insightface on CUDA"
    hint: str | None  # how to get the better engine, when there is one
    ready: bool


def engine_status(ctx: AppContext) -> EngineStatus:
    """Which engine serves swaps, in words, without loading it on this call."""
    from pipeline.engines import describe_engine

    decision = ctx.engine_decision()
    engine = ctx.loaded_face_engine()
    if engine is not None:
        line = describe_engine(engine)
    else:
        line = "classic (offline)" if decision.name == "classic" else f"{decision.name} (loading)"
    hint = None
    if decision.name == "classic":
        hint = "for better quality run `python app.py models download` and restart"
    return EngineStatus(decision.name, line, hint, engine is not None)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# ---------------------------------------------------------------- sample inputs


def example_photos(ctx: AppContext) -> list[str] | None:
    """[husband, wife] sample photos from installed packages, or None when they are not installed.

    insightface's Tom_Hanks_54745.png is used in place; skimage's astronaut is written once as a
    PNG into <data dir>/examples.
    """
    from pipeline.errors import ModelUnavailable
    from pipeline.intake import encode_png
    from pipeline.samples import astronaut_rgb, sample_paths

    try:
        paths = sample_paths()
        target = ctx.settings.resolved_data_dir / "examples" / "astronaut.png"
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(encode_png(astronaut_rgb()))
    except (ModelUnavailable, ImportError, OSError) as exc:
        log.warning("sample photos unavailable: %s", _one_line(exc))
        return None
    return [str(paths.tom_hanks), str(target)]


def example_templates() -> list[str]:
    """insightface's t1.jpg (six faces), when installed."""
    from pipeline.errors import ModelUnavailable
    from pipeline.samples import sample_paths

    try:
        return [str(sample_paths().t1)]
    except ModelUnavailable:
        return []


CrawlStarter = Callable[[int], None]


def make_crawl_starter(ctx: AppContext, mode: SubmitMode = "auto") -> CrawlStarter:
    """Crawls started from the UI run on the job queue ('inline': a background thread)."""
    if mode in ("auto", "queue"):
        from app.tasks import enqueue_crawl, make_huey

        huey = make_huey(ctx.settings)
        return lambda crawl_id: enqueue_crawl(huey, crawl_id)
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="coswap-crawl")

    def run_in_background(crawl_id: int) -> None:
        from app.services.crawl import execute_crawl

        executor.submit(_logged, execute_crawl, ctx, crawl_id)

    return run_in_background


def _logged(fn: Callable[..., Any], *args: Any) -> None:
    try:
        fn(*args)
    except Exception as exc:  # recorded on the crawl row; a background thread has nobody to raise to
        log.info("background crawl ended: %s", _one_line(exc))


def start_crawl(ctx: AppContext, url: str, start: CrawlStarter) -> int:
    """Record the crawl row, then hand its id to the queue. Private addresses are never allowed here."""
    from app.services.crawl import create_crawl
    from app.services.public_demo import refuse_visitor_crawl

    refuse_visitor_crawl(ctx)
    crawl_id = create_crawl(ctx, url)
    start(crawl_id)
    return crawl_id
