"""Queue measurements for the bench command: batch throughput with N worker processes, and the
per-task overhead of the queue and the database around the swap itself.

Both add 2-face templates (deduplicated, so repeated runs reuse them) and one batch from the sample
couple. The templates are 2-face crops of t1.jpg (faces ~110 px), or, as the full bench asks, couples
of 1.6-2 MP with faces of 350-450 px composed from package portraits (pipeline.sample_portraits; they
need Debian's opencv-doc, and the crops stand in without it); the batch, its photos and results are deleted again afterwards.
Run them against a scratch data dir and database: the templates stay in its gallery.
"""

from __future__ import annotations

import logging
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from app.config import Settings
from app.context import AppContext, build_context
from app.services.cleanup import delete_session_data
from app.services.photos import CouplePhoto, ingest_photo
from app.services.runs import start_from_photos
from app.services.templates import add_template_image
from db.models import BatchTask, FaceswapTask
from pipeline.intake import decode_image, encode_png

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
PAIR_BOXES = ((230, 100, 620, 480), (700, 40, 1050, 520))  # woman + man in t1.jpg
SHIFTS = tuple((dx, dy) for dy in (0, 4, 8, 12) for dx in (0, 4, 8, 12, 16))  # distinct crops, faces kept whole
MAX_BENCH_TEMPLATES = 2 * len(SHIFTS)  # both template sets have at least this many
COUPLES, T1_CROPS = "couples", "t1 crops"  # the two template sets
READY_LINE = re.compile(r"worker \d+ ready")
POLL_SECONDS = 0.05  # the batch's duration comes from database timestamps, not from this poll


class BenchError(Exception):
    """The measurement could not run (a worker did not start, the batch did not finish)."""


@dataclass(frozen=True)
class BenchCouple:
    husband: CouplePhoto
    wife: CouplePhoto
    session_id: str


def measure_batch_throughput(
    settings: Settings, n_templates: int = 12, workers: int = 1, *, timeout: float = 300.0, template_set: str = T1_CROPS
) -> dict[str, Any]:
    """Templates per second for one batch of `n_templates` preprocessed 2-face templates, run by
    `python app.py worker --workers N` (warmed before the batch is submitted)."""
    from app.tasks import enqueue_swap_tasks, make_huey

    bench_settings = settings.model_copy(update={"queue_name": f"{settings.queue_name}_bench_{uuid.uuid4().hex[:8]}"})
    with _bench_context(bench_settings) as ctx:
        template_ids = bench_templates(ctx, n_templates, template_set)
        couple = bench_couple(ctx)
        huey = make_huey(bench_settings)
        try:
            with _worker_processes(bench_settings, workers, timeout):
                batch_id = start_from_photos(
                    ctx,
                    couple.husband,
                    couple.wife,
                    template_ids,
                    {},
                    session_id=couple.session_id,
                    enqueue=lambda ids: enqueue_swap_tasks(huey, ids),
                )
                _wait_for_batch(ctx, batch_id, timeout)
            seconds, tasks = _task_figures(ctx, batch_id)
        finally:
            huey.storage.flush_all()
            delete_session_data(ctx, couple.session_id)
    return {
        "workers": workers,
        "templates": n_templates,
        "seconds": round(seconds, 3),
        "templates_per_second": round(n_templates / seconds, 2),
        **tasks,
    }


def measure_queue_overhead(
    settings: Settings, n_tasks: int = 12, *, context: AppContext | None = None, template_set: str = T1_CROPS
) -> dict[str, Any]:
    """Per task, in milliseconds: the time outside the swap itself (execute_task's total minus the
    swap: claim, reads, result write, completion) and one enqueue+dequeue on the real queue."""
    from app.services.batches import execute_task
    from app.tasks import enqueue_swap_tasks, make_huey

    bench_settings = settings.model_copy(update={"queue_name": f"{settings.queue_name}_bench_{uuid.uuid4().hex[:8]}"})
    with _bench_context(bench_settings, context) as ctx:
        template_ids = bench_templates(ctx, n_tasks, template_set)
        couple = bench_couple(ctx)
        huey = make_huey(bench_settings, context=ctx)
        outside: list[float] = []
        queue: list[float] = []
        swaps: list[float] = []
        try:
            batch_id = start_from_photos(ctx, couple.husband, couple.wife, template_ids, {}, session_id=couple.session_id)
            with ctx.sessions() as session:
                task_ids = list(
                    session.execute(select(FaceswapTask.task_id).where(FaceswapTask.batch_id == batch_id)).scalars()
                )
            for task_id in task_ids:
                queued = time.perf_counter()
                enqueue_swap_tasks(huey, [task_id])
                message = huey.dequeue()
                queue.append(time.perf_counter() - queued)
                if message is None:
                    raise BenchError("the queue lost a message")
                outcome = execute_task(ctx, str(message.args[0]))
                if outcome.status != "completed":
                    raise BenchError(f"bench task {outcome.status}: {outcome.error}")
                outside.append(outcome.total_seconds - outcome.swap_seconds)
                swaps.append(outcome.swap_seconds)
        finally:
            huey.storage.flush_all()
            delete_session_data(ctx, couple.session_id)
    overhead = [a + b for a, b in zip(outside, queue, strict=True)]
    return {
        "tasks": n_tasks,
        "backend": "redis" if settings.redis_url else "sqlite",
        "database": "sqlite" if settings.is_embedded else "postgresql",
        "overhead_ms_median": _ms(statistics.median(overhead)),
        "overhead_ms_p90": _ms(_quantile(overhead, 0.9)),
        "execute_outside_swap_ms_median": _ms(statistics.median(outside)),
        "queue_roundtrip_ms_median": _ms(statistics.median(queue)),
        "swap_ms_median": _ms(statistics.median(swaps)),
    }


def bench_template_set(requested: str) -> str:
    """The template set bench_templates really uses: COUPLES only when asked and opencv-doc is installed."""
    from pipeline.sample_portraits import opencv_doc_available

    return COUPLES if requested == COUPLES and opencv_doc_available() else T1_CROPS


def bench_templates(ctx: AppContext, count: int, template_set: str = T1_CROPS) -> list[int]:
    """`count` distinct preprocessed 2-face templates of `template_set` (reused when present)."""
    if not 1 <= count <= MAX_BENCH_TEMPLATES:
        raise BenchError(f"the bench has 1 to {MAX_BENCH_TEMPLATES} distinct templates, not {count}")
    if bench_template_set(template_set) == COUPLES:
        from pipeline.sample_portraits import bench_couples

        images = [couple.image for couple in bench_couples(count)]
    else:
        images = _t1_crops(count)
    ids = []
    for number, image in enumerate(images):
        decoded = decode_image(encode_png(image), max_side=ctx.settings.max_image_side)
        summary = add_template_image(ctx, decoded, name=f"bench pair {number + 1}")
        if summary.status != "completed":
            raise BenchError(f"bench template {number + 1} was not preprocessed: {summary.error}")
        ids.append(summary.id)
    return ids


def _t1_crops(count: int) -> list[Any]:
    from PIL import Image as PILImage

    from pipeline.samples import sample_paths

    source = PILImage.open(sample_paths().t1).convert("RGB")
    crops = []
    for number in range(count):
        x1, y1, x2, y2 = PAIR_BOXES[number % 2]
        dx, dy = SHIFTS[number // 2]
        crops.append(_rgb(source.crop((x1 + dx, y1 + dy, x2 + dx, y2 + dy))))
    return crops


def bench_couple(ctx: AppContext) -> BenchCouple:
    from pipeline.intake import encode_png as png
    from pipeline.samples import astronaut_rgb, sample_paths

    session_id = f"bench-{uuid.uuid4().hex[:12]}"
    husband = ingest_photo(ctx, sample_paths().tom_hanks.read_bytes(), role="husband", session_id=session_id)
    wife = ingest_photo(ctx, png(astronaut_rgb()), role="wife", session_id=session_id)
    return BenchCouple(husband, wife, session_id)


def _rgb(image: Any) -> Any:
    import numpy as np

    return np.asarray(image, dtype=np.uint8)


@contextmanager
def _bench_context(settings: Settings, context: AppContext | None = None) -> Iterator[AppContext]:
    if context is not None:
        yield context
        return
    ctx = build_context(settings)
    try:
        if settings.is_embedded:
            from db import migrate

            migrate.upgrade(ctx.db_engine)
        yield ctx
    finally:
        ctx.dispose()


@contextmanager
def _worker_processes(settings: Settings, workers: int, timeout: float) -> Iterator[None]:
    """`python app.py worker --workers N` until every worker process logged that it is warm."""
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        FACESWAP_DATA_DIR=str(settings.resolved_data_dir),
        FACESWAP_ENGINE=settings.engine,
        FACESWAP_QUEUE_NAME=settings.queue_name,
        COSWAP_LOG_LEVEL="INFO",
    )
    if settings.database_url:
        env["DATABASE_URL"] = settings.database_url
    if settings.redis_url:
        env["REDIS_URL"] = settings.redis_url
    with tempfile.TemporaryFile() as log_file:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py"), "worker", "--workers", str(workers), "--no-periodic"],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_ready(process, log_file, workers, timeout)
            yield
        finally:
            _stop(process)


def _wait_ready(process: subprocess.Popen[bytes], log_file: Any, workers: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        log_file.seek(0)
        ready = len(READY_LINE.findall(log_file.read().decode(errors="replace")))
        if ready >= workers:
            return
        if process.poll() is not None:
            raise BenchError(f"the bench worker exited with status {process.returncode} before it was ready")
        if time.monotonic() > deadline:
            raise BenchError(f"only {ready} of {workers} bench workers were ready after {timeout:.0f}s")
        time.sleep(0.05)


def _stop(process: subprocess.Popen[bytes]) -> None:
    import os
    import signal

    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _wait_for_batch(ctx: AppContext, batch_id: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with ctx.sessions() as session:
            done, total = session.execute(
                select(BatchTask.completed_tasks + BatchTask.failed_tasks, BatchTask.total_tasks).where(
                    BatchTask.batch_id == batch_id
                )
            ).one()
        if done >= total:
            return
        time.sleep(POLL_SECONDS)
    raise BenchError(f"the bench batch did not finish within {timeout:.0f}s")


def _task_figures(ctx: AppContext, batch_id: str) -> tuple[float, dict[str, Any]]:
    """Seconds from the batch's creation to its last finished task (database clocks, so the
    poller's latency does not count), and per-task figures."""
    with ctx.sessions() as session:
        created = session.execute(select(BatchTask.created_at).where(BatchTask.batch_id == batch_id)).scalar_one()
        tasks = list(session.execute(select(FaceswapTask).where(FaceswapTask.batch_id == batch_id)).scalars())
    finished = [t.finished_at for t in tasks if t.finished_at]
    if not finished:
        raise BenchError("no bench task finished")
    seconds = (max(finished) - created).total_seconds()
    spans = [(t.finished_at - t.started_at).total_seconds() for t in tasks if t.started_at and t.finished_at]
    return seconds, {
        "completed": sum(t.status == "completed" for t in tasks),
        "failed": sum(t.status == "failed" for t in tasks),
        "swap_ms_median": _ms(statistics.median([t.seconds or 0.0 for t in tasks])),
        "task_ms_median": _ms(statistics.median(spans)) if spans else None,
    }


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _ms(seconds: float) -> float:
    return round(seconds * 1000.0, 2)
