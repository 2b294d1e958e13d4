"""Time per swap against template resolution: a 2-face template at 2 MP and at 12 MP (4000x3000, a phone).

Both are stored and preprocessed as templates at full size (the bench's template cap is 4096 px), and
the same task runs into each, alternating, so load drift hits both alike. Each sample also times
decoding the stored template and encoding the result alone, to show which part grows with pixels.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np

from app.bench.images import resized_to, t1_pixels, with_faces
from app.bench.stats import summarize, time_call
from app.bench.workspace import Workspace
from app.storage import read_stored
from pipeline.face import RGBImage
from pipeline.intake import encode_jpeg

RESOLUTIONS_MP: Final[tuple[float, float]] = (2.0, 12.0)


def template_resolution(ws: Workspace, runs: int, template_set: str) -> dict[str, Any]:
    """{"2": {...}, "12": {...}, "task_ratio": t12 / t2, "outside_codec_ratio": ...} (medians)."""
    base = _base_template(template_set)
    points = {}
    for megapixels in RESOLUTIONS_MP:
        image = resized_to(base, megapixels)
        template_id = ws.add_template(image, f"bench resolution {megapixels:g} MP")
        points[f"{megapixels:g}"] = (template_id, image.shape[:2])
    samples: dict[str, dict[str, list[float]]] = {key: {"task": [], "swap": [], "codec": []} for key in points}
    for round_number in range(runs + 1):  # round 0 warms every path
        for key, (template_id, _) in points.items():
            outcome = ws.run_task(template_id)
            codec = _codec_seconds(ws, template_id)
            if round_number:
                samples[key]["task"].append(outcome.total_seconds)
                samples[key]["swap"].append(outcome.swap_seconds)
                samples[key]["codec"].append(codec)
    figure: dict[str, Any] = {"template_set": template_set}
    for key, (_, (height, width)) in points.items():
        figure[key] = {
            "image": f"{width}x{height}",
            **{f"{name}_seconds": summarize(values).to_json(4) for name, values in samples[key].items()},
        }
    small, large = (f"{mp:g}" for mp in RESOLUTIONS_MP)
    figure["task_ratio"] = _ratio(figure, large, small, "task_seconds")
    figure["swap_ratio"] = _ratio(figure, large, small, "swap_seconds")
    outside = {
        key: summarize([t - c for t, c in zip(samples[key]["task"], samples[key]["codec"])]).median for key in points
    }
    figure["outside_codec_ratio"] = round(outside[large] / outside[small], 2)
    return figure


def _base_template(template_set: str) -> RGBImage:
    """The first bench couple (or t1.jpg with two faces), its edges extended to a phone's 4:3, so that
    12 MP is 4000x3000."""
    import cv2

    from app.bench.couple import COUPLES

    if template_set == COUPLES:
        from app.bench.sample_portraits import bench_couples

        image = bench_couples(1)[0].image
    else:
        image = with_faces(t1_pixels(), 2)  # t1.jpg with two faces left (a woman and a man)
    height, width = image.shape[:2]
    rows = max(0, round(width * 3 / 4) - height)
    extended = cv2.copyMakeBorder(image, rows // 2, rows - rows // 2, 0, 0, cv2.BORDER_REPLICATE)
    return np.ascontiguousarray(extended)


def _codec_seconds(ws: Workspace, template_id: int) -> float:
    """Decoding the stored template plus encoding a result of its size (JPEG), as a task does."""
    from app.services.preprocessing import load_template, store

    with ws.ctx.sessions() as session:
        path = store(ws.ctx).path_for(load_template(session, template_id, None).original_image)
    pixels: list[RGBImage] = []
    seconds = time_call(lambda: pixels.append(read_stored(path)))
    return seconds + time_call(lambda: encode_jpeg(pixels[0]))


def _ratio(figure: dict[str, Any], large: str, small: str, name: str) -> float:
    return round(figure[large][name]["median"] / figure[small][name]["median"], 2)


__all__ = ["RESOLUTIONS_MP", "template_resolution"]
