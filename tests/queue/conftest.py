"""Fixtures for the queue tests: a warmed classic engine, sample photos, 2-face templates,
contexts on SQLite or on a fresh PostgreSQL database, and a unique Redis queue per test."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image as PILImage
from sqlalchemy import select

from app.config import Settings
from app.context import AppContext
from db.models import Batch, SwapTask, Image
from pipeline.face import FaceEngine
from tests.cli_helpers import ROOT
from tests.conftest import make_settings, open_context
from tests.fixtures_data import SamplePhotos

# Two-face crops of t1.jpg (woman + man), shifted a few pixels so each has its own sha256.
PAIR_BOXES = ((230, 100, 620, 480), (700, 40, 1050, 520))
SHIFTS = ((0, 0), (0, 8), (8, 0), (8, 8), (16, 0), (16, 8))


@pytest.fixture(scope="session")
def template_files(tmp_path_factory: pytest.TempPathFactory, photos: SamplePhotos) -> list[Path]:
    """12 distinct 2-face templates cut from t1.jpg."""
    return write_pair_templates(tmp_path_factory.mktemp("queue-templates"), photos.t1, 12)


def write_pair_templates(folder: Path, t1: Path, count: int) -> list[Path]:
    source = PILImage.open(t1).convert("RGB")
    paths = []
    for number in range(count):
        x1, y1, x2, y2 = PAIR_BOXES[number % 2]
        dx, dy = SHIFTS[(number // 2) % len(SHIFTS)]
        path = folder / f"pair_{number:02d}.png"
        source.crop((x1 + dx, y1 + dy, x2 + dx, y2 + dy)).save(path)
        paths.append(path)
    return paths


class InterruptingEngine:
    """The real engine; `during_swap` runs once in the middle of the next swap, as if another
    worker or the user acted while this worker was busy (only the timing is staged)."""

    def __init__(self, engine: FaceEngine, during_swap: Callable[[], object]) -> None:
        self.engine = engine
        self.name = engine.name
        self.face_data_version = engine.face_data_version
        self._during_swap: Callable[[], object] | None = during_swap

    @property
    def provider(self) -> str:
        return self.engine.provider

    def warmup(self) -> None:
        self.engine.warmup()

    def detect(self, image: Any) -> Any:
        return self.engine.detect(image)

    def prepare_source(self, source: Any) -> Any:
        return self.engine.prepare_source(source)

    def swap(self, image: Any, assignments: Any) -> Any:
        result = self.engine.swap(image, assignments)
        action, self._during_swap = self._during_swap, None
        if action is not None:
            action()
        return result

    def forget_sources(self) -> None:
        self.engine.forget_sources()

    def wears_glasses(self, source: Any) -> bool:
        return self.engine.wears_glasses(source)


@pytest.fixture
def ctx(settings: Settings, classic: FaceEngine) -> Iterator[AppContext]:
    context = open_context(settings, classic)
    yield context
    context.dispose()


@pytest.fixture
def queue_name() -> str:
    return f"coswap_test_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def pg_settings(tmp_path: Path, postgres_url: str, redis_url: str, queue_name: str) -> Iterator[Settings]:
    """PostgreSQL (fresh database) + Redis db 15 under a queue name of its own; its keys go afterwards."""
    settings = make_settings(
        tmp_path / "data",
        DATABASE_URL=postgres_url,
        REDIS_URL=redis_url,
        FACESWAP_QUEUE_NAME=queue_name,
        FACESWAP_TASK_LEASE_SECONDS=5,
    )
    yield settings
    from app.queue.tasks import make_huey

    make_huey(settings).storage.flush_all()


@pytest.fixture
def pg_ctx(pg_settings: Settings, classic: FaceEngine) -> Iterator[AppContext]:
    context = open_context(pg_settings, classic)
    yield context
    context.dispose()


def add_templates(ctx: AppContext, files: list[Path]) -> list[int]:
    from app.services.templates import add_template_files

    summaries = add_template_files(ctx, [str(f) for f in files])
    if any(s.status != "completed" or s.duplicate for s in summaries):
        raise RuntimeError(f"template setup failed: {[(s.status, s.duplicate) for s in summaries]}")
    return [s.id for s in summaries]


def create_batch(ctx: AppContext, photos: SamplePhotos, template_ids: list[int], session_id: str = "test") -> str:
    """A batch of pending tasks (nothing enqueued), from temporary couple photos."""
    from app.services import runs

    return runs.start_from_files(ctx, str(photos.husband), str(photos.wife), template_ids, {}, session_id=session_id)


def task_rows(ctx: AppContext, batch_id: str) -> list[SwapTask]:
    with ctx.sessions() as session:
        return list(
            session.execute(
                select(SwapTask).where(SwapTask.batch_id == batch_id).order_by(SwapTask.id)
            ).scalars()
        )


def batch_row(ctx: AppContext, batch_id: str) -> Batch | None:
    with ctx.sessions() as session:
        return session.execute(select(Batch).where(Batch.batch_id == batch_id)).scalar_one_or_none()


def wait_until(condition: Callable[[], bool], timeout: float, what: str, poll: float = 0.05) -> None:
    """Wait for real work done by another process or thread (never used to move the clock)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(poll)


def batch_done(ctx: AppContext, batch_id: str) -> Callable[[], bool]:
    def done() -> bool:
        batch = batch_row(ctx, batch_id)
        return batch is not None and batch.completed_tasks + batch.failed_tasks >= batch.total_tasks

    return done


def image_files_outside_cache(data_dir: Path) -> list[Path]:
    """Image bytes a data dir holds outside its bounded object cache (examples/ holds the page's
    package sample photos, no user's)."""
    from app.objects import CACHE_DIR

    kept = (data_dir / CACHE_DIR, data_dir / "examples")
    return [
        p for p in data_dir.rglob("*")
        if p.is_file() and p.suffix in (".jpg", ".png") and not any(p.is_relative_to(k) for k in kept)
    ]


def assert_no_orphans(ctx: AppContext) -> None:
    """Every file under images/ has exactly one row and every row its file; no temp files are left."""
    root = ctx.settings.images_dir
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    with ctx.sessions() as session:
        paths = list(session.execute(select(Image.path)).scalars())
        referenced_results = set(
            session.execute(select(SwapTask.result_image_id).where(SwapTask.result_image_id.is_not(None)))
            .scalars()
            .all()
        )
        result_rows = set(session.execute(select(Image.id).where(Image.path.like("results/%"))).scalars())
    assert len(paths) == len(set(paths)), "two rows share a path"
    assert on_disk == set(paths), f"files without rows: {on_disk - set(paths)}; rows without files: {set(paths) - on_disk}"
    assert result_rows == referenced_results, "a result row no task points to"


@dataclass
class WorkerProcess:
    """`python app.py worker` in its own process group, its log in a file."""

    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the consumer and its worker processes at once, like a lost machine."""
        from app.bench.cluster import kill_group

        kill_group(self.process)

    def stop(self, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode


def worker_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        FACESWAP_DATA_DIR=str(settings.data_dir),
        FACESWAP_ENGINE="classic",
        FACESWAP_QUEUE_NAME=settings.queue_name,
        FACESWAP_TASK_LEASE_SECONDS=str(settings.task_lease_seconds),
        COSWAP_LOG_LEVEL="INFO",
    )
    if settings.database_url:
        env["DATABASE_URL"] = settings.database_url
    if settings.redis_url:
        env["REDIS_URL"] = settings.redis_url
    return env


def start_worker(settings: Settings, log_path: Path, workers: int = 1) -> WorkerProcess:
    log_file = log_path.open("ab")
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), "worker", "--workers", str(workers)],
        cwd=ROOT,
        env=worker_env(settings),
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log_file.close()
    return WorkerProcess(process, log_path)


@pytest.fixture
def workers() -> Iterator[list[WorkerProcess]]:
    """Worker processes a test started; all are killed at the end, whatever happened."""
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        worker.kill()  # the whole process group, even when the consumer itself is already gone
