"""First run: seed the shared gallery once with sample images that installed packages ship.

It happens only on an empty gallery, only once per data dir: a marker file
(`<data dir>/.templates-seeded`) records that seeding was done or not needed, so templates
the operator removes never come back. FACESWAP_SEED_TEMPLATES=false turns it off.

Samples (both preprocessed like any template):
- insightface 2.1 `data/images/t1.jpg`: six people, three women and three men (MIT package);
- scikit-image `data.astronaut()`: Eileen Collins, one woman (NASA photo, public domain).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from app.context import AppContext
from app.errors import one_line
from app.services import templates as template_service
from db.base import utcnow
from db.models import Image, Template
from pipeline.intake import DecodedImage, decode_image, encode_png
from pipeline.face import RGBImage

log = logging.getLogger(__name__)

MARKER_NAME = ".templates-seeded"
SAMPLE_CATEGORY = "sample"


@dataclass(frozen=True)
class Sample:
    name: str
    source: str  # where it came from, stored as the template's source_url
    load: Callable[[], RGBImage]


@dataclass(frozen=True)
class SeedReport:
    status: str  # "seeded", "skipped"
    reason: str
    template_ids: list[int] = field(default_factory=list)


def marker_path(ctx: AppContext) -> Path:
    return ctx.settings.resolved_data_dir / MARKER_NAME


def default_samples() -> list[Sample]:
    """The sample images installed packages ship (those that are installed)."""
    from pipeline.errors import ModelUnavailable
    from pipeline.intake import read_image_file
    from pipeline.samples import astronaut_rgb, sample_paths

    samples = []
    try:
        t1 = sample_paths().t1
        samples.append(Sample("Six friends", "package:insightface/data/images/t1.jpg", lambda: read_image_file(str(t1)).array))
    except ModelUnavailable as exc:
        log.info("seed sample skipped: %s", exc)
    samples.append(Sample("Astronaut", "package:scikit-image/data/astronaut.png", astronaut_rgb))
    return samples


def seed_shared_gallery(ctx: AppContext, samples: list[Sample] | None = None) -> SeedReport:
    """Seed once on an empty gallery; never again once the marker exists."""
    if not ctx.settings.seed_templates:
        return SeedReport("skipped", "seeding is switched off (FACESWAP_SEED_TEMPLATES=false)")
    marker = marker_path(ctx)
    if marker.exists():
        return SeedReport("skipped", f"seeding already done once ({marker.name} exists)")
    if _shared_count(ctx) > 0:
        _write_marker(marker, [], "the gallery already had templates")
        return SeedReport("skipped", "the shared gallery is not empty")
    ids = []
    for sample in samples if samples is not None else default_samples():
        try:
            decoded = _decoded(ctx, sample.load())
            summary = template_service.add_template_image(
                ctx, decoded, name=sample.name, source_url=sample.source, category=SAMPLE_CATEGORY
            )
        except Exception as exc:  # noqa: BLE001  (one sample that fails must not stop the server)
            log.warning("seed sample %r failed: %s", sample.name, one_line(exc))
            continue
        ids.append(summary.id)
    if ids:
        _write_marker(marker, ids, "seeded")
        log.info("seeded the shared gallery with %d sample templates", len(ids))
        return SeedReport("seeded", f"{len(ids)} sample templates added", ids)
    return SeedReport("skipped", "no sample image could be added; the next start tries again")


def _decoded(ctx: AppContext, pixels: RGBImage) -> DecodedImage:
    """Through the same safe intake as an upload (size limit, orientation, format)."""
    return decode_image(encode_png(pixels), max_side=ctx.settings.max_template_side)


def _shared_count(ctx: AppContext) -> int:
    with ctx.sessions() as session:
        query = (
            select(func.count())
            .select_from(Template)
            .join(Image, Template.original_image_id == Image.id)
            .where(Image.storage_type == "permanent")
        )
        return int(session.execute(query).scalar_one())


def _write_marker(marker: Path, template_ids: list[int], note: str) -> None:
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"at": utcnow().isoformat(), "note": note, "template_ids": template_ids}) + "\n")
