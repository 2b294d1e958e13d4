"""Photo crops, degraded variants and the harness's colour measures, for the tone and occlusion tests."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from pipeline.face import Face

RGB = NDArray[np.uint8]


def grace_hopper_path() -> Path:
    """matplotlib's sample portrait of Grace Hopper: one woman, in uniform, with glasses."""
    import matplotlib

    return Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"


def read_rgb(path: Path) -> RGB:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(path)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def dim(image: RGB, gamma: float = 2.0) -> RGB:
    return (255.0 * (image / 255.0) ** gamma + 0.5).astype(np.uint8)


def colour_cast(image: RGB, shift: tuple[float, float, float]) -> RGB:
    return np.clip(image.astype(np.float32) + np.array(shift, np.float32), 0, 255).astype(np.uint8)


def side_lit(image: RGB) -> RGB:
    ramp = np.linspace(0.25, 1.1, image.shape[1], dtype=np.float32)[None, :, None]
    return np.clip(image * ramp, 0, 255).astype(np.uint8)


def face_crop(image: RGB, face: Face, margin: float = 0.2) -> tuple[RGB, NDArray[np.float32]]:
    """A crop around the face and its 68 landmarks in crop pixels."""
    points = face.landmarks_array()
    assert points is not None
    x1, y1, x2, y2 = face.bbox
    pad = margin * (x2 - x1)
    left, top = int(max(0, x1 - pad)), int(max(0, y1 - pad))
    right, bottom = int(min(image.shape[1], x2 + pad)), int(min(image.shape[0], y2 + pad))
    return np.ascontiguousarray(image[top:bottom, left:right]), points - np.array([left, top], np.float32)


def inner_face(shape_hw: tuple[int, int], points: NDArray[np.float32]) -> NDArray[np.bool_]:
    """The harness's inner face: hull of dlib points 0-26, eroded by 12 % of the face width."""
    width = float(np.ptp(points[0:17, 0]))
    mask = np.zeros(shape_hw, np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(points[0:27]).astype(np.int32), 255)
    erosion = max(1, int(round(0.12 * width)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * erosion + 1, 2 * erosion + 1))
    return cv2.erode(mask, kernel) > 0


def chroma_p95(original: RGB, result: RGB, points: NDArray[np.float32]) -> float:
    """95th percentile of the a*b* distance in the inner face, both low-passed at 5 % of face width."""
    sigma = 0.05 * float(np.ptp(points[0:17, 0]))

    def lab(image: RGB) -> NDArray[np.float32]:
        blurred = cv2.GaussianBlur(image.astype(np.float32) / 255.0, (0, 0), sigma)
        return cv2.cvtColor(blurred, cv2.COLOR_RGB2LAB)

    difference = lab(result)[..., 1:] - lab(original)[..., 1:]
    distance = np.hypot(difference[..., 0], difference[..., 1])
    return float(np.percentile(distance[inner_face(original.shape[:2], points)], 95))


def new_clipping(original: RGB, result: RGB, mask: NDArray[np.bool_]) -> float:
    """Share of mask pixels with a channel at 0 or 255 in the result that had none in the original."""

    def clipped(image: RGB) -> NDArray[np.bool_]:
        return ((image == 0) | (image == 255)).any(axis=-1)

    return float((clipped(result) & ~clipped(original))[mask].mean())
