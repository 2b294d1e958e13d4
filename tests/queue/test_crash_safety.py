"""A batch survives a SIGKILL of its worker and ends with each task done exactly once.

Real PostgreSQL (a fresh database) and real Redis (db 15, a queue name of its own), real
`python app.py worker` processes and the real `swap --queue --no-wait` command.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from app.config import Settings
from app.context import AppContext
from app.services.batches import execute_task
from app.queue.tasks import make_huey
from db.base import utcnow
from db.models import SwapTask, Image
from db.session import transaction
from pipeline.face import FaceEngine
from tests.cli_helpers import ROOT, run_cli
from tests.fixtures_data import SamplePhotos
from tests.queue.conftest import (
    InterruptingEngine,
    WorkerProcess,
    add_templates,
    assert_no_orphans,
    batch_done,
    create_batch,
    start_worker,
    task_rows,
    wait_until,
    worker_env,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
BATCH_SIZE = 8


def _status_counts(ctx: AppContext, batch_id: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in task_rows(ctx, batch_id):
        counts[row.status] = counts.get(row.status, 0) + 1
    return counts


def _in_flight(ctx: AppContext) -> tuple[int, int]:
    """(completed, running) over the whole (fresh) database."""
    with ctx.sessions() as session:
        counts = dict(
            session.execute(select(SwapTask.status, func.count()).group_by(SwapTask.status)).all()
        )
    return counts.get("completed", 0), counts.get("running", 0)


def test_sigkilled_worker_loses_no_task_and_duplicates_none(
    pg_ctx: AppContext,
    pg_settings: Settings,
    photos: SamplePhotos,
    template_files: list[Path],
    workers: list[WorkerProcess],
    tmp_path: Path,
) -> None:
    # Full-size t1.jpg (6 faces) plus 2-face crops: distinct sha256 each, all preprocessed.
    template_ids = add_templates(pg_ctx, [photos.t1, *template_files[: BATCH_SIZE - 1]])
    first = start_worker(pg_settings, tmp_path / "worker-1.log")
    workers.append(first)
    wait_until(lambda: "ready" in first.log(), 60, "the first worker to warm up")

    args = ["swap", "--husband", str(photos.husband), "--wife", str(photos.wife), "--queue", "--no-wait"]
    for template_id in template_ids:
        args += ["--template", str(template_id)]
    submit = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), *args],
        cwd=ROOT,
        env=worker_env(pg_settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # SIGKILL the whole worker (consumer and its process) as soon as one task is completed and
    # the next one is claimed, watching the database while the submitting command still runs.
    wait_until(lambda: _in_flight(pg_ctx) >= (1, 1), 60, "a first result and a claimed task", poll=0.002)
    first.kill()
    out, err = submit.communicate(timeout=60)
    assert submit.returncode == 0, err
    batch_id = json.loads(out)["batch_id"]
    at_kill = _status_counts(pg_ctx, batch_id)
    assert at_kill.get("completed", 0) < BATCH_SIZE, "the worker finished everything before it was killed"
    orphaned = [r.task_id for r in task_rows(pg_ctx, batch_id) if r.status == "running"]

    second = start_worker(pg_settings, tmp_path / "worker-2.log")
    workers.append(second)
    # The lease is 5 s: the killed task is taken over once it expires.
    wait_until(batch_done(pg_ctx, batch_id), 120, "the second worker to finish the batch")
    assert second.stop() == 0

    rows = task_rows(pg_ctx, batch_id)
    assert [r.status for r in rows] == ["completed"] * BATCH_SIZE
    for row in rows:
        assert row.attempts == (2 if row.task_id in orphaned else 1), (at_kill, row.task_id in orphaned, row.attempts)
    assert len({r.result_image_id for r in rows}) == BATCH_SIZE
    with pg_ctx.sessions() as session:
        results = session.execute(select(Image).where(Image.id.in_([r.result_image_id for r in rows]))).scalars().all()
    assert len({image.path for image in results}) == BATCH_SIZE
    assert all(image.path.endswith(f"{row.task_id}.jpg") for image, row in zip(
        sorted(results, key=lambda i: i.id), sorted(rows, key=lambda r: r.result_image_id or 0), strict=True
    ))
    assert_no_orphans(pg_ctx)
    log = second.log()
    assert "startup reconcile" in log and str(pg_settings.images_dir) not in log + first.log()
    if orphaned:  # the usual case: the worker died in the middle of a task
        assert "watching 1 live leases" in log or "requeued 0 lost pending and 1 expired-lease" in log

    status = run_cli("batch", "status", batch_id, "--json", env=worker_env(pg_settings))
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["status"] == "completed" and len(report["results"]) == BATCH_SIZE
    assert make_huey(pg_settings).storage.queue_size() == 0


def test_a_stale_worker_finishing_late_keeps_the_winners_result(
    pg_ctx: AppContext, photos: SamplePhotos, template_files: list[Path], classic: FaceEngine
) -> None:
    """Worker A's lease expires mid-swap; worker B takes the task over and completes it; then A
    finishes. A must neither add a second result nor remove B's file."""
    template_ids = add_templates(pg_ctx, template_files[:1])
    batch_id = create_batch(pg_ctx, photos, template_ids)
    (task,) = task_rows(pg_ctx, batch_id)

    def lease_expires_and_worker_b_runs() -> None:
        with transaction(pg_ctx.sessions) as session:
            session.execute(
                update(SwapTask)
                .where(SwapTask.task_id == task.task_id)
                .values(lease_expires_at=utcnow() - timedelta(seconds=1))
            )
        assert execute_task(pg_ctx, task.task_id).status == "completed"

    pg_ctx.use_face_engine(InterruptingEngine(classic, lease_expires_and_worker_b_runs))
    started = time.perf_counter()
    late = execute_task(pg_ctx, task.task_id)
    assert (late.status, late.claimed) == ("skipped", False)
    assert time.perf_counter() - started < 30

    (row,) = task_rows(pg_ctx, batch_id)
    assert (row.status, row.attempts) == ("completed", 2)
    with pg_ctx.sessions() as session:
        result = session.get_one(Image, row.result_image_id)
    assert (pg_ctx.settings.images_dir / result.path).is_file()
    assert_no_orphans(pg_ctx)
