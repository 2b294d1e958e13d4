"""Repeated timings summarised as a median with its spread."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Stat:
    """Median, quartiles and range of `runs` measurements, in the unit of the figure."""

    median: float
    q1: float
    q3: float
    min: float
    max: float
    runs: int

    def to_json(self, digits: int = 4) -> dict[str, Any]:
        return {
            "median": round(self.median, digits),
            "q1": round(self.q1, digits),
            "q3": round(self.q3, digits),
            "min": round(self.min, digits),
            "max": round(self.max, digits),
            "runs": self.runs,
        }


def summarize(values: Sequence[float]) -> Stat:
    if not values:
        raise ValueError("no measurements to summarise")
    ordered = sorted(values)
    if len(ordered) >= 2:
        q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
    else:
        q1 = q3 = ordered[0]
    return Stat(
        median=statistics.median(ordered),
        q1=q1,
        q3=q3,
        min=ordered[0],
        max=ordered[-1],
        runs=len(ordered),
    )


def time_call(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def timed_samples(action: Callable[[], object], runs: int, *, warmup: int = 1) -> list[float]:
    """Seconds of each of `runs` timed calls of `action`, after `warmup` untimed ones."""
    for _ in range(warmup):
        action()
    return [time_call(action) for _ in range(runs)]


def repeat_timed(action: Callable[[], object], runs: int, *, warmup: int = 1) -> Stat:
    return summarize(timed_samples(action, runs, warmup=warmup))
