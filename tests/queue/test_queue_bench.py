"""The queue measurements the bench command calls: they run, clean up after themselves, and
report their figures (values are not asserted: timings belong to the report, not to tests)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.config import Settings
from app.context import AppContext
from app.bench.couple import BenchError, bench_templates
from app.bench.throughput import measure_batch_throughput, measure_queue_overhead
from db.models import Batch, Image


def _leftovers(ctx: AppContext) -> tuple[int, int]:
    with ctx.sessions() as session:
        batches = session.execute(select(func.count()).select_from(Batch)).scalar_one()
        temporary = session.execute(
            select(func.count()).select_from(Image).where(Image.storage_type == "temporary")
        ).scalar_one()
    return int(batches), int(temporary)


def test_queue_overhead_is_measured_on_the_embedded_queue(ctx: AppContext, settings: Settings) -> None:
    figures = measure_queue_overhead(settings, 3, context=ctx)
    assert (figures["tasks"], figures["backend"], figures["database"]) == (3, "sqlite", "sqlite")
    for key in ("overhead_ms_median", "overhead_ms_p90", "queue_roundtrip_ms_median", "swap_ms_median"):
        assert figures[key] > 0
    assert _leftovers(ctx) == (0, 0)


def test_batch_throughput_runs_real_worker_processes(ctx: AppContext, settings: Settings) -> None:
    figures = measure_batch_throughput(settings, n_templates=2, workers=1, timeout=120)
    assert (figures["workers"], figures["templates"], figures["completed"], figures["failed"]) == (1, 2, 2, 0)
    assert figures["templates_per_second"] > 0
    assert _leftovers(ctx) == (0, 0)


def test_bench_template_count_is_bounded(ctx: AppContext) -> None:
    with pytest.raises(BenchError):
        bench_templates(ctx, 0)
