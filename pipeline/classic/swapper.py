"""The classic engine's swap of one face, read top to bottom as its stages:

source (prepared once per couple, pipeline.classic.source) → warp (the source texture on the target's
mesh) → regions (every mask) → tone (light, colour, detail) → composite (the blend into the template).
Each stage's tunables are one frozen class in pipeline.classic.settings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from pipeline.classic.composite import composite
from pipeline.classic.face_geometry import face_size
from pipeline.classic.mesh import CANONICAL_POINTS, CanonicalFace, Mesh
from pipeline.classic.regions import Regions, face_region, kept_region, target_eye_points, tone_parts
from pipeline.classic.settings import ClassicSettings
from pipeline.classic.source import PreparedSource
from pipeline.classic.tone import tone_face, tone_view
from pipeline.classic.warp import plan_warp
from pipeline.face import Face


@dataclass(frozen=True)
class SwapStages:
    """One swapped face's stages in its face box (what tools/stage_views.py shows)."""

    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in the image swapped into (a large face's reduced crop)
    template: NDArray[np.uint8] = field(repr=False)  # the face box before the swap
    warped: NDArray[np.uint8] = field(repr=False)  # the source texture on the target's mesh
    toned: NDArray[np.float32] = field(repr=False)  # ... with the template's light, colour and grain
    face: NDArray[np.uint8] = field(repr=False)  # where the source goes, 0/255 on the warp's working grid
    kept: NDArray[np.float32] = field(repr=False)  # what of the template stays in front, 0..1
    result: NDArray[np.uint8] = field(repr=False)  # the face box after the composite


StageObserver = Callable[[SwapStages], None]


def swap_into(
    result: NDArray[np.uint8],
    target: Face,
    target_mesh: Mesh,
    source: PreparedSource,
    canonical: CanonicalFace,
    settings: ClassicSettings | None = None,
    observe: StageObserver | None = None,
) -> None:
    """Map `source` onto the target face's mesh and blend it in, writing into `result` in place; `observe`,
    when given, sees the face's stages."""
    settings = settings or ClassicSettings()
    warp = plan_warp(target_mesh, result.shape[:2], source, canonical, settings.warp)
    if warp is None:
        return
    face = face_region(warp, target, target_mesh, source.forehead_skin, source.mouth_openness, canonical, settings.regions)
    if face is None:
        return  # nothing visible to swap, or a turn beyond what the warp can do: the template face stays
    x0, y0, x1, y1 = warp.box
    target_box = result[y0:y1, x0:x1]
    size = face_size(target_mesh)
    target_xy = target_mesh[:CANONICAL_POINTS, :2].astype(np.float32) - warp.origin
    warped = warp.render()
    view = tone_view(warped, target_box, size, settings.tone.face_size)
    scale_xy = np.array([view.size[0] / warp.box_size[0], view.size[1] / warp.box_size[1]], dtype=np.float32)
    parts = tone_parts(face.face, view.size, target_xy * scale_xy, canonical, settings.regions)
    toned = tone_face(warped, view, parts.face, parts.skin, parts.eyes, parts.eye_openings, size, settings.tone)
    eye_points = target_eye_points(target, target_mesh[:CANONICAL_POINTS, :2].astype(np.float32)) - warp.origin
    kept = kept_region(
        warp, view.warped, view.target, target_box, parts, target_xy * scale_xy, eye_points, size, settings.regions,
    )
    before = None if observe is None else target_box.copy()
    composite(target_box, toned, Regions(face=face.face, mouth=face.mouth, kept=kept), size, warp.scale, settings.composite)
    if observe is not None and before is not None:
        observe(SwapStages(warp.box, before, warped, toned, face.face, kept, target_box.copy()))
