"""The headline figures of `python app.py bench`, measured warm and repeated on one engine."""

from __future__ import annotations

import logging
import time
from typing import Any

from app.bench.images import t1_pixels
from app.bench.plan import BenchPlan
from app.bench.queue import Throughput
from app.bench.stats import Stat, repeat_timed, summarize, timed_samples
from app.bench.workspace import BenchFailed, Workspace, open_workspace
from app.config import Settings
from app.services.batches import TaskOutcome
from app.services.swapping import assignments_for
from pipeline.face import Face, RGBImage
from pipeline.mapping import default_mapping

log = logging.getLogger("coswap.bench")

FIGURE_KEYS: tuple[str, ...] = (
    "preprocess_seconds",
    "swap_seconds_per_face",
    "enhance_seconds_per_face",
    "template_seconds_marginal",
    "batch_templates_per_second_1_worker",
    "batch_templates_per_second_2_workers",
    "queue_overhead_ms_per_task",
    "peak_rss_mb",
    "first_result_seconds",
    "identity_distance",
    "gender_accuracy",
    "use_preprocessed",
    "swap_seconds_by_face_size",
    "template_resolution",
    "template_set",
)
REPORT_KEYS: tuple[str, ...] = ("engine", "provider", "machine", *FIGURE_KEYS)


def run_bench(base: Settings, plan: BenchPlan, *, sweeps: bool = False) -> dict[str, Any]:
    """Every figure of REPORT_KEYS (and `sweeps`, `plan`, `seconds` when asked) in one scratch workspace."""
    from app.bench.machine import load_1min, machine_info

    started = time.perf_counter()
    with open_workspace(base) as ws:
        report: dict[str, Any] = {
            "engine": ws.engine.name,
            "provider": ws.engine.provider,
            "machine": machine_info(),
        }
        figures, throughput = measure_figures(ws, plan, sweeps=sweeps)
        report.update(figures)
        if sweeps:
            from app.bench.scaling import run_sweeps

            report["sweeps"] = run_sweeps(ws, plan, throughput=throughput)
    report["machine"]["load_1min_end"] = load_1min()
    report["plan"] = plan.to_json()
    report["seconds"] = round(time.perf_counter() - started, 1)
    return report


def measure_figures(
    ws: Workspace, plan: BenchPlan, *, sweeps: bool = False
) -> tuple[dict[str, Any], dict[int, Throughput]]:
    """The FIGURE_KEYS, and the throughput per worker count (1, 2, and the sweep's when `sweeps`)."""
    from app.bench.queue import measure_first_result, measure_throughputs
    from app.bench.couple import bench_template_set, bench_templates
    from app.bench.enhance import enhance_seconds_per_face
    from app.bench.face_size import swap_seconds_by_face_size
    from app.bench.resolution import template_resolution
    from app.bench.throughput import measure_queue_overhead

    figures: dict[str, Any] = {}
    figures.update(quality_figures(ws))
    template = t1_pixels()
    figures["preprocess_seconds"] = _seconds(repeat_timed(lambda: ws.engine.detect(template), plan.runs))
    figures["swap_seconds_per_face"] = swap_per_face(ws, template, plan.runs)
    figures["enhance_seconds_per_face"] = enhance_seconds_per_face(ws.engine, plan.runs)
    figures["use_preprocessed"] = use_preprocessed_ratio(ws, template, plan.runs)
    figures["swap_seconds_by_face_size"] = swap_seconds_by_face_size(ws, min(plan.runs, 5), plan.face_sizes)
    template_set = figures["template_set"] = bench_template_set(plan.template_set)
    log.info("bench: engine figures done")

    pairs = bench_templates(ws.ctx, plan.marginal_base + plan.marginal_extra, template_set)
    figures["template_seconds_marginal"] = marginal_template_seconds(ws, pairs, plan)
    figures["template_resolution"] = template_resolution(ws, min(plan.runs, 5), template_set)
    first = measure_first_result(
        ws, pairs[:2], runs=plan.first_result_runs, idle_seconds=plan.first_result_idle_seconds
    )
    figures["first_result_seconds"] = {
        **_seconds(first),
        "templates": 2,
        "consumer": "embedded",
        "backend": "redis" if ws.settings.redis_url else "sqlite",
        "idle_seconds": plan.first_result_idle_seconds,
    }
    overhead = measure_queue_overhead(ws.settings, plan.overhead_tasks, context=ws.ctx, template_set=template_set)
    figures["queue_overhead_ms_per_task"] = {
        "median": overhead["overhead_ms_median"],
        "p90": overhead["overhead_ms_p90"],
        "runs": overhead["tasks"],
        "queue_roundtrip_ms": overhead["queue_roundtrip_ms_median"],
        "execute_outside_swap_ms": overhead["execute_outside_swap_ms_median"],
        "backend": overhead["backend"],
    }
    log.info("bench: inline and queue figures done")

    worker_counts = tuple(sorted({1, 2, *(plan.sweep_workers if sweeps else ())}))
    throughput = measure_throughputs(
        ws, worker_counts, templates=plan.batch_templates, runs=plan.batch_runs, template_set=template_set
    )
    one, two = throughput[1], throughput[2]
    figures["batch_templates_per_second_1_worker"] = one.to_json()
    figures["batch_templates_per_second_2_workers"] = {
        **two.to_json(),
        "speedup_vs_1_worker": round(two.per_second.median / one.per_second.median, 2),
    }
    figures["peak_rss_mb"] = round(max(one.peak_rss_mb, two.peak_rss_mb), 1)
    log.info("bench: worker figures done")
    return figures, throughput


def quality_figures(ws: Workspace) -> dict[str, Any]:
    """Identity distance (dlib ResNet) of each mapped face and gender accuracy on t1.jpg."""
    from app.bench.t1_check import run_quality_check

    quality = run_quality_check(ws.engine)
    return {
        "identity_distance": [
            {
                "index": face.index,
                "role": face.role,
                "distance_to_source": face.distance_to_source,
                "original_distance_to_source": face.original_distance_to_source,
                "moved_towards_source": face.moved_towards_source,
            }
            for face in quality.mapped
        ],
        "gender_accuracy": round(quality.gender_accuracy, 4),
    }


def swap_per_face(ws: Workspace, template: RGBImage, runs: int) -> dict[str, Any]:
    """engine.swap of t1.jpg's two default-mapped faces, from stored (JSON round-tripped) faces,
    divided by the number of faces swapped."""
    stored = [Face.from_dict(face.to_dict()) for face in ws.engine.detect(template)]
    decision = default_mapping(stored)
    assignments = assignments_for(stored, decision.roles, ws.couple.husband.source(), ws.couple.wife.source())
    if not assignments:
        raise BenchFailed("the default mapping of t1.jpg swapped no face")
    samples = timed_samples(lambda: ws.engine.swap(template, assignments), runs)
    per_face = summarize([value / len(assignments) for value in samples])
    return {**_seconds(per_face), "faces_swapped": len(assignments)}


def use_preprocessed_ratio(ws: Workspace, template: RGBImage, runs: int) -> dict[str, Any]:
    """The same task (t1.jpg, default mapping, service path with storage) with stored faces and with
    detection again; runs alternate on/off so drift hits both alike."""
    template_id = ws.add_template(template, "bench t1")
    ws.run_task(template_id, use_preprocessed=True)  # warm the path
    on: list[float] = []
    off: list[float] = []
    for _ in range(runs):
        on.append(ws.run_task(template_id, use_preprocessed=True).total_seconds)
        off.append(ws.run_task(template_id, use_preprocessed=False).total_seconds)
    on_stat, off_stat = summarize(on), summarize(off)
    return {
        "on_seconds": _seconds(on_stat),
        "off_seconds": _seconds(off_stat),
        "off_over_on": round(off_stat.median / on_stat.median, 2),
    }


def marginal_template_seconds(ws: Workspace, template_ids: list[int], plan: BenchPlan) -> dict[str, Any]:
    """(time of an inline batch of base+extra templates − time of one of base) / extra, paired per run.
    A batch here is the whole service path: rows, claims, swaps, result files."""
    small = template_ids[: plan.marginal_base]
    inline_batch_seconds(ws, template_ids)  # warm the path
    samples = []
    for _ in range(plan.runs):
        large_seconds = inline_batch_seconds(ws, template_ids)
        small_seconds = inline_batch_seconds(ws, small)
        samples.append((large_seconds - small_seconds) / plan.marginal_extra)
    return {
        **_seconds(summarize(samples)),
        "base_templates": plan.marginal_base,
        "extra_templates": plan.marginal_extra,
    }


def inline_batch_seconds(ws: Workspace, template_ids: list[int]) -> float:
    from app.services.runs import run_inline

    failed: list[str] = []
    started = time.perf_counter()
    batch_id = ws.couple.start_batch(ws.ctx, template_ids)

    def note(outcome: TaskOutcome) -> None:
        if outcome.status != "completed":
            failed.append(outcome.task_id)

    run_inline(ws.ctx, batch_id, on_done=note)
    seconds = time.perf_counter() - started
    if failed:
        raise BenchFailed(f"{len(failed)} task(s) of an inline bench batch failed")
    return seconds


def _seconds(stat: Stat) -> dict[str, Any]:
    return stat.to_json(4)
