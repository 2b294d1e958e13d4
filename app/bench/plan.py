"""How much a bench run measures: the quick and the full plan."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any


@dataclass(frozen=True)
class BenchPlan:
    """How much a run measures. Every timed figure has at least `runs` (≥ 5) samples,
    except batch throughput in the quick plan (one batch per worker count)."""

    name: str
    runs: int
    marginal_base: int  # templates in the smaller inline batch
    marginal_extra: int  # templates the larger batch adds
    overhead_tasks: int
    batch_templates: int
    batch_runs: int
    first_result_runs: int
    first_result_idle_seconds: float
    sweep_runs: int
    sweep_workers: tuple[int, ...]
    template_set: str  # "couples" (1.6-2 MP, faces 350-450 px) or "t1 crops" (faces ~110 px)
    face_sizes: tuple[int, ...]  # jaw widths of the per-face swap time figure

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


QUICK = BenchPlan(
    name="quick",
    runs=5,
    marginal_base=1,
    marginal_extra=4,
    overhead_tasks=8,
    batch_templates=12,
    batch_runs=1,
    first_result_runs=5,
    first_result_idle_seconds=0.5,
    sweep_runs=3,
    sweep_workers=(1, 2),
    template_set="t1 crops",
    face_sizes=(150, 300),
)
FULL = BenchPlan(
    name="full",
    runs=11,
    marginal_base=2,
    marginal_extra=10,
    overhead_tasks=30,
    batch_templates=40,
    batch_runs=5,
    first_result_runs=6,
    first_result_idle_seconds=8.0,
    sweep_runs=7,
    sweep_workers=(1, 2, 4),
    template_set="couples",
    face_sizes=(150, 300, 600),
)
# The quick plan's repeats on the full plan's realistic templates: the speed targets in a minute or two.
QUICK_COUPLES = replace(QUICK, name="quick couples", template_set="couples", face_sizes=FULL.face_sizes)

__all__ = ["FULL", "QUICK", "QUICK_COUPLES", "BenchPlan"]
