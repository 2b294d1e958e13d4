"""The scratch world a bench runs in: its own data dir, SQLite database, queue and sample couple.

The user's data dir and database are never opened. The user's models dir is only read (the
temporary data dir links `models` to it, so worker processes resolve the same engine).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from app.config import Settings
from app.context import AppContext, build_context
from app.services import batches
from app.bench.couple import BenchCouple, bench_couple
from app.services.templates import add_template_image
from pipeline.face import FaceEngine, RGBImage
from pipeline.intake import decode_image, encode_png

log = logging.getLogger("coswap.bench")

BENCH_MAX_SIDE = 4096  # the 4 MP sweep template is 2404 px wide, the 12 MP one 4000
BENCH_QUEUE = "coswap_bench"


class BenchFailed(Exception):
    """A measurement could not be taken (a swap failed, a template lost its faces)."""


@dataclass(frozen=True)
class Workspace:
    settings: Settings
    ctx: AppContext
    engine: FaceEngine
    couple: BenchCouple

    def add_template(self, image: RGBImage, name: str) -> int:
        """Store and preprocess `image` as a template; refuse one where no face was found."""
        decoded = decode_image(encode_png(image), max_side=self.settings.max_template_side)
        summary = add_template_image(self.ctx, decoded, name=name)
        if summary.status != "completed":
            raise BenchFailed(f"bench template {name!r} was not preprocessed: {summary.error}")
        return summary.id

    def run_task(
        self, template_id: int, *, use_preprocessed: bool = True, mapping: dict[str, str] | None = None
    ) -> batches.TaskOutcome:
        """One single-template batch executed in this process; the outcome carries its timings."""
        request = batches.BatchRequest(
            husband=self.couple.husband,
            wife=self.couple.wife,
            template_ids=[template_id],
            mappings={template_id: mapping} if mapping else {},
            session_id=self.couple.session_id,
            use_preprocessed=use_preprocessed,
        )
        batch_id = batches.create_batch(self.ctx, request)
        [task_id] = batches.pending_task_ids(self.ctx, batch_id)
        outcome = batches.execute_task(self.ctx, task_id)
        if outcome.status != "completed":
            raise BenchFailed(f"bench swap into template {template_id} {outcome.status}: {outcome.error}")
        return outcome


def bench_settings(base: Settings, data_dir: Path) -> Settings:
    """Scratch settings: data dir `data_dir`, embedded SQLite, Redis only when the environment set it.

    The engine choice is pinned to what `base` resolves to, and the models dir is `base`'s.
    """
    from pipeline.engines import resolve_engine

    engine = resolve_engine(base.engine, base.models_dir).name
    return Settings(
        FACESWAP_DATA_DIR=data_dir,
        DATABASE_URL=None,
        REDIS_URL=base.redis_url or None,
        FACESWAP_ENGINE=engine,
        FACESWAP_MODELS_DIR=base.models_dir,
        FACESWAP_MAX_SIDE=BENCH_MAX_SIDE,
        FACESWAP_MAX_TEMPLATE_SIDE=BENCH_MAX_SIDE,
        FACESWAP_QUEUE_NAME=BENCH_QUEUE,
    )  # type: ignore[call-arg]


@contextmanager
def open_workspace(base: Settings) -> Iterator[Workspace]:
    """A migrated scratch database in a temporary dir, a warm engine and the stored sample couple."""
    from db import migrate

    with tempfile.TemporaryDirectory(prefix="coswap-bench-") as folder:
        data_dir = Path(folder) / "data"
        data_dir.mkdir()
        if base.models_dir.is_dir():
            (data_dir / "models").symlink_to(base.models_dir, target_is_directory=True)
        settings = bench_settings(base, data_dir)
        ctx = build_context(settings)
        try:
            migrate.upgrade(ctx.db_engine)
            engine = ctx.face_engine()
            log.info("bench workspace in %s, engine %s on %s", data_dir, engine.name, engine.provider)
            yield Workspace(settings=settings, ctx=ctx, engine=engine, couple=bench_couple(ctx))
        finally:
            ctx.dispose()
