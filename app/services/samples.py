"""Sample inputs from installed packages, offered as examples in the UI."""

from __future__ import annotations

import logging
from pathlib import Path

from app.context import AppContext
from app.errors import one_line

log = logging.getLogger(__name__)


def example_photos(ctx: AppContext) -> list[str] | None:
    """[husband, wife] sample photos from installed packages, or None when they are not installed.

    The husband (face_recognition's obama.jpg, else insightface's Tom Hanks crop) is used in place;
    skimage's astronaut is written once as a PNG into <data dir>/examples.
    """
    from pipeline.errors import ModelUnavailable
    from pipeline.intake import encode_png
    from pipeline.samples import astronaut_rgb, sample_husband

    try:
        husband = sample_husband()
        target = ctx.settings.resolved_data_dir / "examples" / "astronaut.png"
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(encode_png(astronaut_rgb()))
    except (ModelUnavailable, ImportError, OSError) as exc:
        log.warning("sample photos unavailable: %s", one_line(exc))
        return None
    return [str(husband), str(target)]


def example_templates() -> list[str]:
    """The Templates tab's sample: matplotlib's grace_hopper.jpg (a US Navy portrait, public domain), when
    installed. It is not one of the seeded templates, so adding it does something."""
    from importlib import util

    spec = util.find_spec("matplotlib")
    if spec is None or spec.origin is None:
        return []
    path = Path(spec.origin).parent / "mpl-data" / "sample_data" / "grace_hopper.jpg"
    return [str(path)] if path.is_file() else []
