"""Batches on the queue: throughput and peak memory of real worker processes, and the time from
submitting a batch to its first result on the consumer that `serve` embeds."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from sqlalchemy import select

from app.bench.stats import Stat, summarize
from app.bench.workspace import BenchFailed, Workspace
from app.polling import wait_for
from db.models import Batch

if TYPE_CHECKING:
    from huey import Huey

log = logging.getLogger("coswap.bench")

RSS_SAMPLE_SECONDS = 0.05
FIRST_RESULT_POLL_SECONDS = 0.01
FIRST_RESULT_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class Throughput:
    workers: int
    templates: int
    per_second: Stat
    task_ms_median: float | None
    peak_rss_mb: float  # the largest worker process seen during these runs
    machine_speedup_2: Stat  # two busy-loop processes against one, measured between the rounds

    def to_json(self) -> dict[str, Any]:
        return {
            **self.per_second.to_json(2),
            "workers": self.workers,
            "templates": self.templates,
            "task_ms_median": self.task_ms_median,
            "peak_worker_rss_mb": round(self.peak_rss_mb, 1),
            "machine_2_process_speedup": round(self.machine_speedup_2.median, 2),
        }


def measure_throughputs(
    ws: Workspace, worker_counts: tuple[int, ...], *, templates: int, runs: int, template_set: str = "t1 crops"
) -> dict[int, Throughput]:
    """`runs` batches of `templates` 2-face templates per worker count, each on freshly started and
    warmed worker processes (the queue's own measure_batch_throughput), watched for their peak
    memory. Worker counts take turns run by run, so drift on a noisy machine hits all of them.
    Before each round the machine's own two-process speedup is measured, to read the ratios against."""
    from app.bench.machine import parallel_speedup
    from app.bench.throughput import measure_batch_throughput

    rates: dict[int, list[float]] = {workers: [] for workers in worker_counts}
    task_ms: dict[int, list[float]] = {workers: [] for workers in worker_counts}
    peaks: dict[int, float] = {workers: 0.0 for workers in worker_counts}
    machine: list[float] = []
    for number in range(runs):
        machine.append(parallel_speedup(2))
        for workers in worker_counts:
            with PeakRssMonitor() as monitor:
                result = measure_batch_throughput(ws.settings, templates, workers, template_set=template_set)
            if result["failed"]:
                raise BenchFailed(f"{result['failed']} task(s) of a {workers}-worker bench batch failed")
            rates[workers].append(float(result["templates_per_second"]))
            if result.get("task_ms_median") is not None:
                task_ms[workers].append(float(result["task_ms_median"]))
            peaks[workers] = max(peaks[workers], monitor.peak_mb)
            log.info(
                "throughput, %d worker(s), run %d/%d: %.2f templates/s", workers, number + 1, runs, rates[workers][-1]
            )
    return {
        workers: Throughput(
            workers=workers,
            templates=templates,
            per_second=summarize(rates[workers]),
            task_ms_median=round(summarize(task_ms[workers]).median, 2) if task_ms[workers] else None,
            peak_rss_mb=peaks[workers],
            machine_speedup_2=summarize(machine),
        )
        for workers in worker_counts
    }


@dataclass
class PeakRssMonitor:
    """Samples the high-water mark of every descendant process (Linux VmHWM, else current RSS)."""

    peak_mb: float = 0.0
    by_pid: dict[int, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Self:
        self._thread = threading.Thread(target=self._watch, name="bench-rss", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.peak_mb = max(self.by_pid.values(), default=0.0)

    def _watch(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop.wait(RSS_SAMPLE_SECONDS):
            for child in me.children(recursive=True):
                try:
                    megabytes = _high_water_mb(child)
                except (psutil.Error, OSError):
                    continue
                self.by_pid[child.pid] = max(self.by_pid.get(child.pid, 0.0), megabytes)


def _high_water_mb(process: Any) -> float:
    status = Path(f"/proc/{process.pid}/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float(process.memory_info().rss) / (1024.0 * 1024.0)


def measure_first_result(ws: Workspace, template_ids: list[int], *, runs: int, idle_seconds: float) -> Stat:
    """Seconds from submitting a batch to its first completed task, as a client polling the
    database sees it. The consumer is serve's embedded one (a thread sharing the warm engine);
    each batch is submitted after the consumer has been idle for `idle_seconds`, so the figure
    includes the consumer's polling delay."""
    from app.queue.tasks import enqueue_swap_tasks
    from app.services.batches import pending_task_ids

    samples: list[float] = []
    with _embedded_consumer(ws) as huey:
        for _ in range(runs):
            time.sleep(idle_seconds)
            started = time.perf_counter()
            batch_id = ws.couple.start_batch(
                ws.ctx, template_ids, submit=lambda bid: enqueue_swap_tasks(huey, pending_task_ids(ws.ctx, bid))
            )
            samples.append(_wait_for(ws, batch_id, lambda done, total: done >= 1) - started)
            _wait_for(ws, batch_id, lambda done, total: done >= total)
    return summarize(samples)


@contextmanager
def _embedded_consumer(ws: Workspace) -> Iterator[Huey]:
    import uuid

    from app.queue.worker import start_embedded_consumer

    settings = ws.settings.model_copy(update={"queue_name": f"{ws.settings.queue_name}_first_{uuid.uuid4().hex[:8]}"})
    embedded = start_embedded_consumer(settings, context=ws.ctx, workers=1, periodic=False)
    try:
        yield embedded.huey
    finally:
        embedded.stop()


def _wait_for(ws: Workspace, batch_id: str, ready: Callable[[int, int], bool]) -> float:
    def counts() -> tuple[int, int, int]:
        with ws.ctx.sessions() as session:
            batch = session.execute(select(Batch).where(Batch.batch_id == batch_id)).scalar_one()
            return batch.completed_tasks, batch.failed_tasks, batch.total_tasks

    completed, failed, total = wait_for(
        counts,
        lambda c: bool(c[1]) or ready(c[0], c[2]),
        timeout=FIRST_RESULT_TIMEOUT_SECONDS,
        interval=FIRST_RESULT_POLL_SECONDS,
    )
    if failed:
        raise BenchFailed(f"a task of bench batch {batch_id[:8]} failed")
    if not ready(completed, total):
        raise BenchFailed(f"bench batch {batch_id[:8]} did not finish within {FIRST_RESULT_TIMEOUT_SECONDS:.0f}s")
    return time.perf_counter()
