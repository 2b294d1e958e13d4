"""Large faces (a phone photo kept at full resolution) are swapped on a reduced crop.

The swap works on a crop around the face, scaled so that the face is no larger than the source face, or
`LargeFaceSettings.face_limit` pixels if that is larger; what the swap changed there is scaled back up
and added to the full-resolution pixels. Pixels the swap left alone (background, kept occluders) stay
exactly as they were, and the swap costs about the same for a 1000 px face as for a `face_limit` one;
decoding and encoding are what grows with the photo. The face pasted in can be no sharper than the source
face it comes from, so a target face beyond the limit gains no detail from being swapped at full size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Final

import cv2
import numpy as np
from numpy.typing import NDArray

from pipeline.classic.mesh import Mesh
from pipeline.face import Face


@dataclass(frozen=True)
class LargeFaceSettings:
    face_limit: float = 400.0  # face size (geometric mean of the oval's sides) always swapped at full size
    margin_share: float = 0.1  # crop margin around the face mesh, as a share of the face size


LARGE_FACES: Final = LargeFaceSettings()

SwapIntoCrop = Callable[[NDArray[np.uint8], Face, Mesh], None]


def reduction(target_size: float, source_size: float, settings: LargeFaceSettings = LARGE_FACES) -> float:
    """The crop's scale for a target face of `target_size` pixels: 1.0 up to the limit (the larger of
    `face_limit` and the source face's own size: no detail is lost), below 1 beyond it."""
    limit = max(settings.face_limit, source_size)
    return 1.0 if target_size <= limit else limit / target_size


def swap_reduced(
    result: NDArray[np.uint8],
    target: Face,
    mesh: Mesh,
    scale: float,
    swap: SwapIntoCrop,
    settings: LargeFaceSettings = LARGE_FACES,
) -> None:
    """Run `swap` on a crop around the face scaled by `scale`; add what it changed back into `result`."""
    height, width = result.shape[:2]
    xy = mesh[:, :2]
    size = float(np.sqrt(max(1.0, float(np.ptp(xy[:, 0])) * float(np.ptp(xy[:, 1])))))
    margin = settings.margin_share * size
    x0 = int(max(0, np.floor(xy[:, 0].min() - margin)))
    y0 = int(max(0, np.floor(xy[:, 1].min() - margin)))
    x1 = int(min(width, np.ceil(xy[:, 0].max() + margin)))
    y1 = int(min(height, np.ceil(xy[:, 1].max() + margin)))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return
    crop = result[y0:y1, x0:x1]
    small_size = (max(2, round((x1 - x0) * scale)), max(2, round((y1 - y0) * scale)))
    # Linear sampling is enough from half size up: the reduced crop only measures what the swap changes.
    shrink = cv2.INTER_LINEAR if scale >= 0.5 else cv2.INTER_AREA
    small = cv2.resize(crop, small_size, interpolation=shrink)
    before = small.copy()
    # The crop's own scale each way (rounding makes them differ slightly from `scale`).
    sx, sy = small_size[0] / (x1 - x0), small_size[1] / (y1 - y0)
    swap(small, scaled_face(target, (x0, y0), (sx, sy)), scaled_mesh(mesh, (x0, y0), (sx, sy)))
    moved = cv2.absdiff(small, before)
    rows = np.flatnonzero(moved.reshape(moved.shape[0], -1).max(axis=1))
    if rows.size == 0:
        return
    cols = np.flatnonzero(moved.max(axis=0).max(axis=1))
    change = cv2.resize(
        cv2.subtract(small, before, dtype=cv2.CV_16S), (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR
    )
    # Added back only over the changed rectangle (one reduced pixel wider): elsewhere it is zero.
    fy0, fy1 = max(0, int((rows[0] - 1) / sy)), min(y1 - y0, int(np.ceil((rows[-1] + 2) / sy)))
    fx0, fx1 = max(0, int((cols[0] - 1) / sx)), min(x1 - x0, int(np.ceil((cols[-1] + 2) / sx)))
    patch = crop[fy0:fy1, fx0:fx1]
    patch[...] = cv2.add(patch, change[fy0:fy1, fx0:fx1], dtype=cv2.CV_8U)


def scaled_mesh(mesh: Mesh, origin: tuple[int, int], scale: tuple[float, float]) -> Mesh:
    """Mesh points in the reduced crop: shifted by `origin`, x and y scaled; z by their mean."""
    out = np.array(mesh, dtype=np.float32, copy=True)
    out[:, 0] = (out[:, 0] - origin[0]) * scale[0]
    out[:, 1] = (out[:, 1] - origin[1]) * scale[1]
    out[:, 2] *= (scale[0] + scale[1]) / 2.0
    return out


def scaled_face(face: Face, origin: tuple[int, int], scale: tuple[float, float]) -> Face:
    """`face` with every coordinate moved into the reduced crop (see scaled_mesh)."""

    def point(x: float, y: float) -> tuple[float, float]:
        return ((x - origin[0]) * scale[0], (y - origin[1]) * scale[1])

    x1, y1, x2, y2 = face.bbox
    mesh = None if face.mesh is None else tuple(map(tuple, scaled_mesh(face.mesh_array(), origin, scale).tolist()))
    return replace(
        face,
        bbox=(*point(x1, y1), *point(x2, y2)),
        kps=tuple(point(x, y) for x, y in face.kps),
        landmarks=None if face.landmarks is None else tuple(point(x, y) for x, y in face.landmarks),
        mesh=mesh,  # type: ignore[arg-type]
    )
