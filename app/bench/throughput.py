"""Queue measurements for the bench command (worker subprocesses live here, never in services): batch throughput with N worker processes, and the
per-task overhead of the queue and the database around the swap itself.

Both add 2-face templates (deduplicated, so repeated runs reuse them) and one batch from the sample
couple. The templates are 2-face crops of t1.jpg (faces ~110 px), or, as the full bench asks, couples
of 1.6-2 MP with faces of 350-450 px composed from package portraits (app.bench.sample_portraits; they
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
from pathlib import Path
from typing import Any

from sqlalchemy import select

from app.config import Settings
from app.context import AppContext, build_context
from app.bench.couple import T1_CROPS, BenchError, bench_couple, bench_templates
from app.polling import wait_for
from app.queue.tasks import enqueue_swap_tasks, make_huey
from app.services.batches import execute_task, pending_task_ids
from app.services.cleanup import delete_session_data
from db.models import Batch, SwapTask

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
READY_LINE = re.compile(r"worker \d+ ready")
POLL_SECONDS = 0.05  # the batch's duration comes from database timestamps, not from this poll


def measure_batch_throughput(
    settings: Settings, n_templates: int = 12, workers: int = 1, *, timeout: float = 300.0, template_set: str = T1_CROPS
) -> dict[str, Any]:
    """Templates per second for one batch of `n_templates` preprocessed 2-face templates, run by
    `python app.py worker --workers N` (warmed before the batch is submitted)."""

    bench_settings = settings.model_copy(update={"queue_name": f"{settings.queue_name}_bench_{uuid.uuid4().hex[:8]}"})
    with _bench_context(bench_settings) as ctx:
        template_ids = bench_templates(ctx, n_templates, template_set)
        couple = bench_couple(ctx)
        huey = make_huey(bench_settings)
        try:
            with _worker_processes(bench_settings, workers, timeout):
                batch_id = couple.start_batch(
                    ctx, template_ids, submit=lambda bid: enqueue_swap_tasks(huey, pending_task_ids(ctx, bid))
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

    bench_settings = settings.model_copy(update={"queue_name": f"{settings.queue_name}_bench_{uuid.uuid4().hex[:8]}"})
    with _bench_context(bench_settings, context) as ctx:
        template_ids = bench_templates(ctx, n_tasks, template_set)
        couple = bench_couple(ctx)
        huey = make_huey(bench_settings, context=ctx)
        outside: list[float] = []
        queue: list[float] = []
        swaps: list[float] = []
        try:
            batch_id = couple.start_batch(ctx, template_ids)
            with ctx.sessions() as session:
                task_ids = list(
                    session.execute(select(SwapTask.task_id).where(SwapTask.batch_id == batch_id)).scalars()
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
    def ready() -> int:
        log_file.seek(0)
        return len(READY_LINE.findall(log_file.read().decode(errors="replace")))

    count = wait_for(ready, lambda n: n >= workers or process.poll() is not None, timeout=timeout, interval=0.05)
    if count >= workers:
        return
    if process.poll() is not None:
        raise BenchError(f"the bench worker exited with status {process.returncode} before it was ready")
    raise BenchError(f"only {count} of {workers} bench workers were ready after {timeout:.0f}s")


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
    def counts() -> tuple[int, int]:
        with ctx.sessions() as session:
            done, total = session.execute(
                select(Batch.completed_tasks + Batch.failed_tasks, Batch.total_tasks).where(Batch.batch_id == batch_id)
            ).one()
        return int(done), int(total)

    done, total = wait_for(counts, lambda c: c[0] >= c[1], timeout=timeout, interval=POLL_SECONDS)
    if done < total:
        raise BenchError(f"the bench batch did not finish within {timeout:.0f}s")


def _task_figures(ctx: AppContext, batch_id: str) -> tuple[float, dict[str, Any]]:
    """Seconds from the batch's creation to its last finished task (database clocks, so the
    poller's latency does not count), and per-task figures."""
    with ctx.sessions() as session:
        created = session.execute(select(Batch.created_at).where(Batch.batch_id == batch_id)).scalar_one()
        tasks = list(session.execute(select(SwapTask).where(SwapTask.batch_id == batch_id)).scalars())
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
