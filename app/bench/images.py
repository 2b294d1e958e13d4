"""Sweep templates made from t1.jpg: fewer faces at the same size, or all six faces at other sizes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
from numpy.typing import NDArray

from pipeline.face import RGBImage
from pipeline.intake import read_image_file
from pipeline.samples import T1_FACE_CENTRES, sample_paths

FACE_COUNTS: Final[tuple[int, ...]] = (1, 2, 4, 6)
MEGAPIXELS: Final[tuple[float, ...]] = (0.5, 1.0, 2.0, 4.0)
# Which of t1's faces (left to right: F F M M M F) stay visible for each face count.
KEPT_FACES: Final[dict[int, tuple[int, ...]]] = {
    1: (2,),
    2: (1, 2),
    4: (0, 1, 2, 3),
    6: (0, 1, 2, 3, 4, 5),
}
HIDE_HALF_SIZE: Final = (95, 115)  # half width and half height of the patch that hides a face


def t1_pixels() -> RGBImage:
    return read_image_file(sample_paths().t1).array


def with_faces(image: RGBImage, count: int) -> RGBImage:
    """t1.jpg at its own size with every face but `KEPT_FACES[count]` painted over in a flat colour."""
    if count not in KEPT_FACES:
        raise ValueError(f"no t1 composition with {count} faces; choose one of {sorted(KEPT_FACES)}")
    hidden = [i for i in range(len(T1_FACE_CENTRES)) if i not in KEPT_FACES[count]]
    return hide_faces(image, [T1_FACE_CENTRES[i] for i in hidden])


def hide_faces(image: RGBImage, centres: Sequence[tuple[float, float]]) -> RGBImage:
    out = image.copy()
    height, width = out.shape[:2]
    half_w, half_h = HIDE_HALF_SIZE
    for x, y in centres:
        x1, x2 = max(0, int(x - half_w)), min(width, int(x + half_w))
        y1, y2 = max(0, int(y - half_h)), min(height, int(y + half_h))
        patch = out[y1:y2, x1:x2]
        patch[:] = patch.reshape(-1, 3).mean(axis=0).astype(np.uint8)
    return out


def resized_to(image: RGBImage, megapixels: float) -> RGBImage:
    """`image` scaled (Lanczos) so that width × height is `megapixels` million, aspect kept."""
    from PIL import Image

    height, width = image.shape[:2]
    scale = (megapixels * 1e6 / (width * height)) ** 0.5
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized: NDArray[np.uint8] = np.asarray(Image.fromarray(image).resize(size, Image.Resampling.LANCZOS))
    return np.ascontiguousarray(resized, dtype=np.uint8)
