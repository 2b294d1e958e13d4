"""Per-face swap time against face size: one composed couple scaled so each jaw is 150, 300 or 600 px."""

from __future__ import annotations

from typing import Any, Final

from app.bench.stats import summarize, timed_samples
from app.bench.workspace import BenchFailed, Workspace
from pipeline.face import Assignment, Face
from pipeline.mapping import default_mapping

FACE_SIZES: Final[tuple[int, ...]] = (150, 300, 600)  # jaw width (dlib points 0-16) in pixels
SIZE_COUPLE: Final = ("smiling_man", "blonde_woman")


def swap_seconds_by_face_size(ws: Workspace, runs: int, sizes: tuple[int, ...] = FACE_SIZES) -> dict[str, Any]:
    """{"150": stat + face box width + image size, ...}: engine.swap of both faces from stored faces,
    divided by two; or {"skipped": reason} when the package portraits are not installed."""
    from app.bench.sample_portraits import compose_couple, opencv_doc_available

    if not opencv_doc_available():
        return {"skipped": "opencv-doc is not installed"}
    sources = {"husband": ws.couple.husband.source(), "wife": ws.couple.wife.source()}
    figures: dict[str, Any] = {}
    for size in sizes:
        couple = compose_couple(*SIZE_COUPLE, jaw=size)
        stored = [Face.from_dict(face.to_dict()) for face in ws.engine.detect(couple.image)]
        decision = default_mapping(stored)
        assignments = [
            Assignment(stored[index], sources[role]) for index, role in sorted(decision.roles.items()) if role in sources
        ]
        if len(assignments) != 2:
            raise BenchFailed(f"the {size} px couple did not map two faces")
        samples = timed_samples(lambda: ws.engine.swap(couple.image, assignments), runs)
        stat = summarize([value / len(assignments) for value in samples])
        height, width = couple.image.shape[:2]
        figures[str(size)] = {
            **stat.to_json(4),
            "face_box_px": round(sum(a.target.bbox[2] - a.target.bbox[0] for a in assignments) / len(assignments)),
            "image": f"{width}x{height}",
        }
    return figures
