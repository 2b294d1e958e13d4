"""Sample inputs from installed packages, offered as examples in the UI."""

from __future__ import annotations

import logging

from app.context import AppContext
from app.errors import one_line

log = logging.getLogger(__name__)


def example_photos(ctx: AppContext) -> list[str] | None:
    """[husband, wife] sample photos from installed packages, or None when they are not installed.

    insightface's Tom_Hanks_54745.png is used in place; skimage's astronaut is written once as a
    PNG into <data dir>/examples.
    """
    from pipeline.errors import ModelUnavailable
    from pipeline.intake import encode_png
    from pipeline.samples import astronaut_rgb, sample_paths

    try:
        paths = sample_paths()
        target = ctx.settings.resolved_data_dir / "examples" / "astronaut.png"
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(encode_png(astronaut_rgb()))
    except (ModelUnavailable, ImportError, OSError) as exc:
        log.warning("sample photos unavailable: %s", one_line(exc))
        return None
    return [str(paths.tom_hanks), str(target)]


def example_templates() -> list[str]:
    """insightface's t1.jpg (six faces), when installed."""
    from pipeline.errors import ModelUnavailable
    from pipeline.samples import sample_paths

    try:
        return [str(sample_paths().t1)]
    except ModelUnavailable:
        return []
