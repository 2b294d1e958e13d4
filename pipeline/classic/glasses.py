"""Glasses on a face: whether there are any, where their frames are, and faces without them.

- `has_glasses`: a frame across the nose bridge, from 5 key points, 68 dlib points or a
  468/478-point MediaPipe mesh.
- `frame_mask`: the frame lines around the eyes: the two rims, fitted as rounded rectangles, and the
  dark lines (bridge, temples, thick rims) next to them.
- `remove_frames`: a source face with its frames inpainted away, before it is transferred.
- `glasses_keep_mask`: the target's own frames, kept from the template like any occluder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np
from numpy.typing import NDArray

RGB = NDArray[np.uint8]
FloatMask = NDArray[np.float32]
Points = NDArray[np.float32]

GLASSES_THRESHOLD: Final = 0.6  # has_glasses score at or above which frames are reported
BRIDGE_WIDTH_SHARE: Final = 0.3  # half-width of the bridge strip, as a share of the inner-corner gap
EDGE_LEVEL: Final = 15.0  # vertical gradient of a frame edge, grey levels per pixel (normalised contrast)
RIDGE_LEVEL: Final = 10.0  # second derivative of a frame line
CONTRAST_SPAN: Final = 150.0  # the eye band's 5-95 % grey range is stretched to this
FRAME_KERNEL_SHARE: Final = 0.3  # frame lines up to this share of the eye distance thick are found
FRAME_MIN_CONTRAST: Final = 12  # grey levels a frame line is darker than its surroundings, at least
FRAME_GROW_SHARE: Final = 0.03  # the frame mask is grown by this share of the eye distance
FRAME_WORK_EYE_DISTANCE: Final = 64.0  # frames are found and inpainted with the eyes this far apart
BROW_WIDTH_SHARE: Final = 0.16  # brow thickness cut out of the frame search
FRAME_MIN_SAMPLES: Final = 30  # eye-band pixels needed to set the frame threshold

_MESH_POINTS: Final = (468, 478)

# Where the points sit relative to the eye centres, in eye distances (x along the eye line, y down
# from it); the medians of dlib's 68 points on the package photos.
_FROM_CENTRES: Final = {
    "right_outer": (-0.69, 0.0),
    "right_inner": (-0.30, 0.02),
    "left_inner": (0.30, 0.02),
    "left_outer": (0.70, 0.0),
    "right_lower": (-0.51, 0.05),
    "left_lower": (0.50, 0.05),
    "brow_centre": (0.0, -0.235),
    "nose_bridge": (0.0, 0.163),
}


@dataclass(frozen=True)
class EyeGeometry:
    """The points glasses are found from, in image pixels (subject's right eye is on the image left)."""

    right_outer: NDArray[np.float32]
    right_inner: NDArray[np.float32]
    left_inner: NDArray[np.float32]
    left_outer: NDArray[np.float32]
    right_lower: NDArray[np.float32]  # a point on the lower lid
    left_lower: NDArray[np.float32]
    brow_centre: NDArray[np.float32]  # between the inner brow ends
    nose_bridge: NDArray[np.float32]  # on the bridge, level with the eyes or a little below
    brows: tuple[NDArray[np.float32], NDArray[np.float32]]  # two polylines along the brows

    @property
    def eye_distance(self) -> float:
        centre_r = (self.right_outer + self.right_inner) / 2.0
        centre_l = (self.left_outer + self.left_inner) / 2.0
        return float(np.hypot(*(centre_l - centre_r)))


def eye_geometry(points: Points) -> EyeGeometry:
    """Eye geometry from 5 key points (eye centres first), 68 dlib points or a 468/478-point mesh."""
    p = np.asarray(points, dtype=np.float32)
    if len(p) == 68:
        return EyeGeometry(
            right_outer=p[36],
            right_inner=p[39],
            left_inner=p[42],
            left_outer=p[45],
            right_lower=(p[40] + p[41]) / 2.0,
            left_lower=(p[46] + p[47]) / 2.0,
            brow_centre=(p[21] + p[22]) / 2.0,
            nose_bridge=p[28],
            brows=(p[17:22], p[22:27]),
        )
    if len(p) in _MESH_POINTS:
        return EyeGeometry(
            right_outer=p[33, :2],
            right_inner=p[133, :2],
            left_inner=p[362, :2],
            left_outer=p[263, :2],
            right_lower=p[145, :2],
            left_lower=p[374, :2],
            brow_centre=p[168, :2],
            nose_bridge=p[197, :2],
            brows=(p[[70, 63, 105, 66, 107], :2], p[[336, 296, 334, 293, 300], :2]),
        )
    if len(p) == 5:
        return _from_eye_centres(p[0], p[1])
    raise ValueError(f"expected 5 key points, 68 landmarks or a 468/478-point mesh, got {len(p)} points")


def _from_eye_centres(right: NDArray[np.float32], left: NDArray[np.float32]) -> EyeGeometry:
    """Approximate eye geometry from the two eye centres (5-point key points of any detector)."""
    along = (left - right).astype(np.float32)
    down = np.array([-along[1], along[0]], dtype=np.float32)
    middle = (left + right) / 2.0

    def place(x: float, y: float) -> NDArray[np.float32]:
        return (middle + x * along + y * down).astype(np.float32)

    brow = [(-0.9, -0.22), (-0.6, -0.33), (-0.2, -0.27)]
    return EyeGeometry(
        **{name: place(x, y) for name, (x, y) in _FROM_CENTRES.items()},
        brows=(np.stack([place(x, y) for x, y in brow]), np.stack([place(-x, y) for x, y in reversed(brow)])),
    )


def has_glasses(image: RGB, points: Points) -> bool:
    """True when a frame crosses the nose bridge between the eyes."""
    return glasses_score(image, points) >= GLASSES_THRESHOLD


def glasses_score(image: RGB, points: Points) -> float:
    """0..1: how completely one horizontal line crosses the nose bridge between the eyes.

    The face is rotated level, scaled so the eye centres are 64 px apart, and its contrast is
    normalised. In the middle of the bridge (from just below the brows to the bridge point) a frame
    is a row band where nearly every column has both a strong vertical gradient and a strong
    ridge (second derivative); skin, brows and eye-corner shading cover only part of the width.
    """
    level = _level_face(image, eye_geometry(points))
    if level is None:
        return 0.0
    grey, geo = level
    centre = (geo.right_inner[0] + geo.left_inner[0]) / 2.0
    half = BRIDGE_WIDTH_SHARE * (geo.left_inner[0] - geo.right_inner[0])
    rows = slice(max(1, int(geo.brow_centre[1] + 4)), min(grey.shape[0] - 1, int(geo.nose_bridge[1] + 4)))
    cols = slice(max(0, int(centre - half)), min(grey.shape[1], int(centre + half) + 1))
    if rows.stop - rows.start < 3 or cols.stop - cols.start < 3:
        return 0.0
    gradient = np.abs(cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3))[rows, cols] / 4.0
    ridge = np.abs(cv2.Sobel(grey, cv2.CV_32F, 0, 2, ksize=5))[rows, cols] / 16.0
    return min(_row_coverage(gradient > EDGE_LEVEL), _row_coverage(ridge > RIDGE_LEVEL))


def frame_mask(image: RGB, points: Points) -> FloatMask:
    """Dark frame lines around the eyes, outside the eyes and brows themselves, 0 or 1.

    A black-hat (closing minus image) with a kernel 0.3 eye distances wide finds every dark
    structure thinner than that; inside a band around both eyes, what is left after the eyes and
    brows are cut out and an Otsu threshold is the frame. The work runs on a copy of the eye band
    scaled so the eyes are FRAME_WORK_EYE_DISTANCE pixels apart.
    """
    mask = np.zeros(image.shape[:2], dtype=np.float32)
    work = _frame_work(image, points)
    if work is not None:
        top, left, box, _, small_mask = work
        mask[top : top + box[0], left : left + box[1]] = _upsample_mask(small_mask, box)
    return mask


def glasses_keep_mask(image: RGB, points: Points) -> FloatMask:
    """The target's own frames, to keep from the template (zeros when it wears no glasses)."""
    if not has_glasses(image, points):
        return np.zeros(image.shape[:2], dtype=np.float32)
    return frame_mask(image, points)


def remove_frames(image: RGB, points: Points) -> RGB:
    """The face with frame lines inpainted away (Telea, on the reduced eye band), the rest untouched."""
    result = image.copy()
    work = _frame_work(image, points)
    if work is None:
        return result
    top, left, box, small, small_mask = work
    if not small_mask.any():
        return result
    small_distance = eye_geometry(points).eye_distance * small.shape[1] / box[1]
    radius = max(2.0, FRAME_KERNEL_SHARE / 2.0 * small_distance)
    bgr = cv2.cvtColor(small, cv2.COLOR_RGB2BGR)
    filled = cv2.cvtColor(cv2.inpaint(bgr, small_mask, radius, cv2.INPAINT_TELEA), cv2.COLOR_BGR2RGB)
    if filled.shape[:2] != box:
        filled = cv2.resize(filled, (box[1], box[0]), interpolation=cv2.INTER_CUBIC)
    inside = _upsample_mask(small_mask, box) > 0.5
    view = result[top : top + box[0], left : left + box[1]]
    view[inside] = filled[inside]
    return result


def _frame_work(
    image: RGB, points: Points
) -> tuple[int, int, tuple[int, int], RGB, NDArray[np.uint8]] | None:
    """(top, left, box size, reduced eye-band crop, its 0/255 frame mask), or None for tiny faces."""
    geometry = eye_geometry(points)
    distance = geometry.eye_distance
    if distance < 8.0:
        return None
    height, width = image.shape[:2]
    centre = (geometry.right_outer + geometry.left_outer) / 2.0
    reach = 1.25 * distance
    top, bottom = max(0, int(centre[1] - reach)), min(height, int(np.ceil(centre[1] + reach)))
    left, right = max(0, int(centre[0] - reach)), min(width, int(np.ceil(centre[0] + reach)))
    if bottom - top < 4 or right - left < 4:
        return None
    box = (bottom - top, right - left)
    scale = min(1.0, FRAME_WORK_EYE_DISTANCE / distance)
    crop = np.ascontiguousarray(image[top:bottom, left:right])
    if scale < 1.0:
        size = (max(1, int(round(box[1] * scale))), max(1, int(round(box[0] * scale))))
        crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    factors = np.array([crop.shape[1] / box[1], crop.shape[0] / box[0]], dtype=np.float32)
    offset = np.array([left, top], dtype=np.float32)
    small_points = np.asarray(points, dtype=np.float32)[:, :2]
    small_points = (small_points - offset) * factors
    return top, left, box, crop, _frame_lines(crop, eye_geometry(small_points))


def _frame_lines(image: RGB, geometry: EyeGeometry) -> NDArray[np.uint8]:
    height, width = image.shape[:2]
    distance = geometry.eye_distance
    band = np.zeros((height, width), dtype=np.uint8)
    centre = (geometry.right_outer + geometry.left_outer) / 2.0
    angle = float(np.degrees(np.arctan2(*(geometry.left_outer - geometry.right_outer)[::-1])))
    _ellipse(band, centre + np.array([0.0, 0.08 * distance]), (1.05 * distance, 0.45 * distance), angle)
    excluded = np.zeros((height, width), dtype=np.uint8)
    for outer, inner in ((geometry.right_outer, geometry.right_inner), (geometry.left_outer, geometry.left_inner)):
        _ellipse(excluded, (outer + inner) / 2.0, (0.27 * distance, 0.13 * distance), angle)
    brow_width = max(2, int(round(BROW_WIDTH_SHARE * distance)))
    for brow in geometry.brows:
        cv2.polylines(excluded, [np.rint(brow).astype(np.int32)], False, 255, brow_width)
    lines = np.zeros((height, width), dtype=np.uint8)
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    size = max(3, int(round(FRAME_KERNEL_SHARE * distance)) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    blackhat = cv2.morphologyEx(grey, cv2.MORPH_BLACKHAT, kernel, borderType=cv2.BORDER_REPLICATE)
    search = (band > 0) & (excluded == 0)
    values = blackhat[search]
    if values.size < FRAME_MIN_SAMPLES:
        return lines
    otsu, _ = cv2.threshold(values.reshape(-1, 1), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    found = ((blackhat > max(FRAME_MIN_CONTRAST, otsu)) & search).astype(np.uint8)
    grow = max(1, int(round(FRAME_GROW_SHARE * distance)))
    found = cv2.dilate(found, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    found[excluded > 0] = 0
    return found * 255


def _upsample_mask(mask: NDArray[np.uint8], box: tuple[int, int]) -> FloatMask:
    if mask.shape != box:
        mask = cv2.resize(mask, (box[1], box[0]), interpolation=cv2.INTER_LINEAR)
    return (mask > 127).astype(np.float32)


def _ellipse(mask: NDArray[np.uint8], centre: NDArray[np.float32], axes: tuple[float, float], angle: float) -> None:
    cv2.ellipse(
        mask,
        (int(round(float(centre[0]))), int(round(float(centre[1])))),
        (max(1, int(round(axes[0]))), max(1, int(round(axes[1])))),
        angle,
        0,
        360,
        255,
        -1,
    )


def _level_face(image: RGB, geometry: EyeGeometry) -> tuple[NDArray[np.float32], EyeGeometry] | None:
    """Grey face rotated so the eyes are level and scaled so the eye centres are 64 px apart."""
    distance = geometry.eye_distance
    if distance < 8.0:
        return None
    centre_r = (geometry.right_outer + geometry.right_inner) / 2.0
    centre_l = (geometry.left_outer + geometry.left_inner) / 2.0
    angle = float(np.degrees(np.arctan2(centre_l[1] - centre_r[1], centre_l[0] - centre_r[0])))
    scale = 64.0 / distance
    middle = (centre_r + centre_l) / 2.0
    matrix = cv2.getRotationMatrix2D((float(middle[0]), float(middle[1])), angle, scale)
    matrix[:, 2] += np.array([80.0, 60.0]) - middle
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    level = cv2.warpAffine(grey, matrix, (160, 140), flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE).astype(np.float32)

    def move(points: NDArray[np.float32]) -> NDArray[np.float32]:
        return (points @ matrix[:, :2].T + matrix[:, 2]).astype(np.float32)

    moved = EyeGeometry(
        **{name: move(getattr(geometry, name)) for name in EyeGeometry.__dataclass_fields__ if name != "brows"},
        brows=(move(geometry.brows[0]), move(geometry.brows[1])),
    )
    band = level[40:100, 16:144]
    low, high = np.percentile(band, (5, 95))
    level = ((level - float(low)) * (CONTRAST_SPAN / max(float(high - low), 20.0))).astype(np.float32)
    return cv2.GaussianBlur(level, (0, 0), 1.0), moved


def _row_coverage(strong: NDArray[np.bool_]) -> float:
    """The largest share of columns that are strong somewhere in one band of 3 rows."""
    if len(strong) > 2:
        strong = strong[:-2] | strong[1:-1] | strong[2:]
    return float(strong.mean(axis=1).max()) if strong.size else 0.0
