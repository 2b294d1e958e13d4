"""The bench's inputs: the sample couple and distinct 2-face templates (t1.jpg crops, or 1.6-2 MP couples)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from app.context import AppContext
from app.services import photos, runs
from app.services.photos import CouplePhoto
from app.services.templates import add_template_image
from pipeline.intake import decode_image, encode_png

PAIR_BOXES = ((230, 100, 620, 480), (700, 40, 1050, 520))  # woman + man in t1.jpg
SHIFTS = tuple((dx, dy) for dy in (0, 4, 8, 12) for dx in (0, 4, 8, 12, 16))  # distinct crops, faces kept whole
MAX_BENCH_TEMPLATES = 2 * len(SHIFTS)  # both template sets have at least this many
COUPLES, T1_CROPS = "couples", "t1 crops"  # the two template sets


class BenchError(Exception):
    """The measurement could not run (a worker did not start, the batch did not finish)."""


@dataclass(frozen=True)
class BenchCouple:
    """The two stored couple photos of a bench run and the session they belong to."""

    husband: CouplePhoto
    wife: CouplePhoto
    session_id: str

    def start_batch(
        self, ctx: AppContext, template_ids: list[int], *, submit: runs.Submit | None = None
    ) -> str:
        """The services' one start path, for this couple."""
        checked = runs.check_request(ctx, template_ids, {}, session_id=self.session_id)
        return runs.start_batch(ctx, checked, self.husband, self.wife, submit=submit)


def bench_template_set(requested: str) -> str:
    """The template set bench_templates really uses: COUPLES only when asked and opencv-doc is installed."""
    from app.bench.sample_portraits import opencv_doc_available

    return COUPLES if requested == COUPLES and opencv_doc_available() else T1_CROPS


def bench_templates(ctx: AppContext, count: int, template_set: str = T1_CROPS) -> list[int]:
    """`count` distinct preprocessed 2-face templates of `template_set` (reused when present)."""
    if not 1 <= count <= MAX_BENCH_TEMPLATES:
        raise BenchError(f"the bench has 1 to {MAX_BENCH_TEMPLATES} distinct templates, not {count}")
    if bench_template_set(template_set) == COUPLES:
        from app.bench.sample_portraits import bench_couples

        images = [couple.image for couple in bench_couples(count)]
    else:
        images = _t1_crops(count)
    ids = []
    for number, image in enumerate(images):
        decoded = decode_image(encode_png(image), max_side=ctx.settings.max_template_side)
        summary = add_template_image(ctx, decoded, name=f"bench pair {number + 1}")
        if summary.status != "completed":
            raise BenchError(f"bench template {number + 1} was not preprocessed: {summary.error}")
        ids.append(summary.id)
    return ids


def _t1_crops(count: int) -> list[Any]:
    from PIL import Image as PILImage

    from pipeline.samples import sample_paths

    source = PILImage.open(sample_paths().t1).convert("RGB")
    crops = []
    for number in range(count):
        x1, y1, x2, y2 = PAIR_BOXES[number % 2]
        dx, dy = SHIFTS[number // 2]
        crops.append(_rgb(source.crop((x1 + dx, y1 + dy, x2 + dx, y2 + dy))))
    return crops


def bench_couple(ctx: AppContext) -> BenchCouple:
    from pipeline.intake import encode_png as png
    from pipeline.samples import astronaut_rgb, sample_paths

    session_id = f"bench-{uuid.uuid4().hex[:12]}"
    husband = photos.ingest_photo(ctx, sample_paths().tom_hanks.read_bytes(), role="husband", session_id=session_id)
    wife = photos.ingest_photo(ctx, png(astronaut_rgb()), role="wife", session_id=session_id)
    return BenchCouple(husband, wife, session_id)


def _rgb(image: Any) -> Any:
    import numpy as np

    return np.asarray(image, dtype=np.uint8)
