"""The machine a bench ran on, in the words BENCHMARKS.md prints."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def machine_info() -> dict[str, Any]:
    import psutil

    return {
        "cpu": cpu_model(),
        "cores_logical": os.cpu_count() or 0,
        "cores_physical": psutil.cpu_count(logical=False) or 0,
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0,
        "ram_gb": round(psutil.virtual_memory().total / 1e9, 1),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "date": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "load_1min_start": load_1min(),
    }


def load_1min() -> float | None:
    """The 1-minute load average: other work on the machine while the bench ran."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown"


SPIN_ITERATIONS = 2_000_000


def parallel_speedup(processes: int = 2, *, iterations: int = SPIN_ITERATIONS) -> float:
    """How much faster `processes` pure-Python busy loops finish together than one after another,
    right now: `processes` on an idle machine with that many free cores, near 1 when the machine
    (or the host under a virtual one) gives this process only one core's worth of CPU."""
    import multiprocessing

    single = _spin(iterations)
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(processes)
    results = context.Queue()
    children = [
        context.Process(target=_spin_together, args=(barrier, iterations, results), daemon=True)
        for _ in range(processes)
    ]
    for child in children:
        child.start()
    slowest = max(results.get(timeout=60) for _ in children)
    for child in children:
        child.join(timeout=10)
    return processes * single / slowest


def _spin(iterations: int) -> float:
    import time

    started = time.perf_counter()
    total = 0
    for number in range(iterations):
        total += number * number
    return time.perf_counter() - started


def _spin_together(barrier: Any, iterations: int, results: Any) -> None:
    barrier.wait()
    results.put(_spin(iterations))
