"""Sweeps: time per template against faces per template and template size, and batch throughput
against the number of worker processes.

Every point is timed three ways: engine.detect; engine.swap with every face mapped; one task on the
service path with the default mapping (stored faces, result written). The points of a sweep take
turns run by run, so a burst of other work on the machine spreads over all of them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.bench.plan import BenchPlan
from app.bench.images import FACE_COUNTS, MEGAPIXELS, resized_to, t1_pixels, with_faces
from app.bench.stats import summarize, time_call
from app.bench.workspace import BenchFailed, Workspace
from pipeline.face import Assignment, Face, RGBImage
from pipeline.mapping import default_mapping

if TYPE_CHECKING:
    from app.bench.queue import Throughput

log = logging.getLogger("coswap.bench")


@dataclass
class SweepPoint:
    """One sweep template, stored and preprocessed, with its samples so far."""

    label: dict[str, Any]
    image: RGBImage
    every_face: list[Assignment]
    template_id: int
    faces_detected: int
    faces_swapped_by_default: int
    samples: dict[str, list[float]] = field(
        default_factory=lambda: {"preprocess_seconds": [], "swap_all_faces_seconds": [], "task_seconds": []}
    )

    def to_json(self) -> dict[str, Any]:
        height, width = self.image.shape[:2]
        return {
            **self.label,
            "width": width,
            "height": height,
            "megapixels": round(width * height / 1e6, 2),
            "faces_detected": self.faces_detected,
            "faces_swapped_by_default": self.faces_swapped_by_default,
            **{name: summarize(values).to_json(4) for name, values in self.samples.items()},
        }


def run_sweeps(ws: Workspace, plan: BenchPlan, *, throughput: dict[int, Throughput]) -> dict[str, Any]:
    template = t1_pixels()
    faces = [prepare_point(ws, with_faces(template, n), {"faces": n}, f"bench faces {n}") for n in FACE_COUNTS]
    sizes = [
        prepare_point(ws, resized_to(template, mp), {"megapixels_target": mp}, f"bench size {mp}") for mp in MEGAPIXELS
    ]
    for points, name in ((faces, "faces"), (sizes, "size")):
        time_points(ws, points, plan.sweep_runs)
        log.info("sweep by %s done", name)
    return {
        "faces": [point.to_json() for point in faces],
        "size": [point.to_json() for point in sizes],
        "workers": worker_sweep(plan, throughput),
    }


def prepare_point(ws: Workspace, image: RGBImage, label: dict[str, Any], name: str) -> SweepPoint:
    detected = ws.engine.detect(image)
    if not detected:
        raise BenchFailed(f"no face found in sweep template {name!r}")
    stored = [Face.from_dict(face.to_dict()) for face in detected]
    sources = (ws.couple.husband.source(), ws.couple.wife.source())
    template_id = ws.add_template(image, name)
    return SweepPoint(
        label=label,
        image=image,
        every_face=[Assignment(face, sources[index % 2]) for index, face in enumerate(stored)],
        template_id=template_id,
        faces_detected=len(detected),
        faces_swapped_by_default=sum(role != "keep" for role in default_mapping(stored).roles.values()),
    )


def time_points(ws: Workspace, points: list[SweepPoint], runs: int) -> None:
    """One untimed round to warm every path, then `runs` timed rounds over all points."""
    for round_number in range(runs + 1):
        for point in points:
            timings = _time_point(ws, point)
            if round_number == 0:
                continue
            for name, seconds in timings.items():
                point.samples[name].append(seconds)


def _time_point(ws: Workspace, point: SweepPoint) -> dict[str, float]:
    def task() -> float:
        return ws.run_task(point.template_id).total_seconds

    actions: dict[str, Callable[[], float]] = {
        "preprocess_seconds": lambda: time_call(lambda: ws.engine.detect(point.image)),
        "swap_all_faces_seconds": lambda: time_call(lambda: ws.engine.swap(point.image, point.every_face)),
        "task_seconds": task,
    }
    return {name: action() for name, action in actions.items()}


def worker_sweep(plan: BenchPlan, throughput: dict[int, Throughput]) -> list[dict[str, Any]]:
    """Throughput per worker count of the plan, from the interleaved runs of the headline figures."""
    missing = [workers for workers in plan.sweep_workers if workers not in throughput]
    if missing:
        raise BenchFailed(f"no throughput measured for {missing} worker(s)")
    return [throughput[workers].to_json() for workers in plan.sweep_workers]
