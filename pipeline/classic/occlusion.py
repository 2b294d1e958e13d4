"""What in the target face is not skin (hair, a hand, glasses), and glasses on a face.

- `occlusion_mask`: template pixels to keep, from a skin-colour model fitted on the target's cheeks.
- `has_glasses`: a frame across the nose bridge, from 5 key points, 68 dlib points or a
  468/478-point MediaPipe mesh.
- `remove_frames`: inpaint dark frame lines out of a source face before it is transferred.
- `glasses_keep_mask`: the target's own frames, kept from the template like any occluder.
- `face_parts_68`: oval, cheek and exempt (eyes, brows, lips) masks from 68 dlib points, for the
  engines that have no mesh.
All masks are float32 in 0..1; the heavier steps run on a reduced copy so time stays flat.
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

WORK_SIZE: Final = 128  # longer side of the reduced copy the occlusion model runs on
SKIN_DISTANCE: Final = (2.5, 4.0)  # Mahalanobis distance: skin below the first, occluder above the second
SHADOW_DARKNESS: Final = 0.45  # skin in shadow is up to this share darker than the cheeks ...
SHADOW_REFERENCE_PERCENTILE: Final = 10  # darkness is measured against this percentile of cheek lightness
DARKNESS_STEP: Final = 0.06  # ... and each further step this big counts one standard deviation
CHROMA_SCALE_RANGE: Final = (0.35, 1.6)  # skin chroma shrinks in highlights and grows in shadows
MIN_SKIN_SAMPLES: Final = 30
EDGE_BAND_SHARE: Final = 0.12  # occluders must reach this outer band of the oval (hair, hands, frames)
LARGE_OCCLUDER_SHARE: Final = 0.06  # ... or cover this share of the oval
OPEN_SHARE: Final = 0.025  # speckle removal: morphological opening, as a share of the oval size
SMOOTH_SHARE: Final = 0.02  # final softening of the kept mask, as a share of the oval size

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

_MESH_POINTS: Final = (468, 478)


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


@dataclass(frozen=True)
class FaceParts:
    """Float masks of one face, in the pixels of the image they were drawn for."""

    oval: FloatMask
    cheeks: FloatMask
    exempt: FloatMask  # eyes, brows and lips: never occluders


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


def face_parts_68(shape_hw: tuple[int, int], points: Points, *, forehead_share: float = 0.2) -> FaceParts:
    """Oval (jaw plus forehead), cheek and exempt masks from 68 dlib points."""
    p = np.asarray(points, dtype=np.float32)
    height, width = int(shape_hw[0]), int(shape_hw[1])
    eye_distance = float(np.hypot(*(p[42:48].mean(axis=0) - p[36:42].mean(axis=0))))
    up = p[17:27].mean(axis=0) - p[8]
    up = up / max(1e-6, float(np.hypot(*up)))
    forehead = p[17:27] + up * forehead_share * float(np.hypot(*(p[17:27].mean(axis=0) - p[8])))
    oval = _fill(height, width, [cv2.convexHull(np.concatenate([p[0:17], forehead]))])
    grow = max(1, int(round(0.12 * eye_distance)))
    exempt = _fill(
        height,
        width,
        [cv2.convexHull(p[36:42]), cv2.convexHull(p[42:48]), cv2.convexHull(p[48:60])]
        + [_thick_line(p[17:22]), _thick_line(p[22:27])],
        dilate=grow,
    )
    cheek_r = np.array([p[1], p[2], p[3], p[31], p[40]], dtype=np.float32)  # image left
    cheek_l = np.array([p[15], p[14], p[13], p[35], p[47]], dtype=np.float32)
    cheeks = _fill(height, width, [_shrink(cheek_r, 0.7), _shrink(cheek_l, 0.7)])
    cheeks *= 1.0 - exempt
    return FaceParts(oval=oval, cheeks=cheeks, exempt=exempt)


def occlusion_mask(
    target_crop: RGB, oval_mask: FloatMask, cheek_mask: FloatMask, exempt_mask: FloatMask
) -> FloatMask:
    """Pixels of the target to KEEP (1) inside the oval: what is not skin and reaches the oval's edge.

    A Gaussian in CIELAB (lightness widened for shading) is fitted on the cheek pixels. Non-skin
    regions count as occluders when they touch the outer band of the oval (hair fringes, hands,
    glasses frames reaching the temples) or are large; small inner dark spots (nostrils, creases,
    shadows) and the exempt parts stay part of the face. The mask is opened and softened, so it
    does not speckle. Returns zeros when the cheeks give no usable colour model.
    """
    height, width = target_crop.shape[:2]
    keep = np.zeros((height, width), dtype=np.float32)
    oval = _check_mask(oval_mask, (height, width))
    cheeks = _check_mask(cheek_mask, (height, width)) * oval
    exempt = _check_mask(exempt_mask, (height, width))
    if float(oval.sum()) < MIN_SKIN_SAMPLES:
        return keep
    scale = min(1.0, WORK_SIZE / max(height, width))
    size = (max(1, int(round(width * scale))), max(1, int(round(height * scale))))
    small = cv2.resize(target_crop, size, interpolation=cv2.INTER_AREA)
    small_oval = cv2.resize(oval, size, interpolation=cv2.INTER_AREA) > 0.5
    small_cheeks = cv2.resize(cheeks, size, interpolation=cv2.INTER_AREA) > 0.5
    small_exempt = cv2.resize(exempt, size, interpolation=cv2.INTER_AREA) > 0.3
    lab = cv2.cvtColor(small.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    samples = lab[small_cheeks]
    if len(samples) < MIN_SKIN_SAMPLES:
        return keep
    distance = _skin_distance(lab, samples)
    low, high = SKIN_DISTANCE
    not_skin = np.clip((distance - low) / (high - low), 0.0, 1.0)
    not_skin[~small_oval | small_exempt] = 0.0
    hard = (not_skin > 0.5).astype(np.uint8)
    oval_size = float(np.sqrt(small_oval.sum()))
    hard = _open(hard, OPEN_SHARE * oval_size)
    hard = _touching_edge_or_large(hard, small_oval, oval_size)
    soft = cv2.GaussianBlur(hard.astype(np.float32), (0, 0), max(0.6, SMOOTH_SHARE * oval_size))
    soft[~small_oval] = 0.0
    keep = cv2.resize(soft, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.clip(keep * oval, 0.0, 1.0).astype(np.float32)


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
    if values.size < MIN_SKIN_SAMPLES:
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


def _skin_distance(lab: NDArray[np.float32], samples: NDArray[np.float32]) -> NDArray[np.float32]:
    """Mahalanobis distance to the cheek colour, along a skin locus rather than to one point.

    Shading moves skin along its own hue: shadows are darker and somewhat more saturated,
    highlights brighter and paler. So each pixel is compared with the cheek chroma scaled by the
    factor (within CHROMA_SCALE_RANGE) that fits it best, and lightness counts only when the
    pixel is more than SHADOW_DARKNESS darker than the cheeks (dark hair, a dark sleeve).
    """
    mean = np.median(samples, axis=0).astype(np.float32)
    centred_samples = samples - mean
    covariance = np.cov(centred_samples.T) + np.diag([4.0, 1.0, 1.0])
    inverse = np.linalg.inv(covariance[1:, 1:]).astype(np.float32)
    chroma = mean[1:]
    norm = float(chroma @ chroma)
    if norm > 1e-6:
        scale = np.clip((lab[..., 1:] @ chroma) / norm, *CHROMA_SCALE_RANGE)
    else:
        scale = np.ones(lab.shape[:2], dtype=np.float32)
    difference = lab[..., 1:] - scale[..., None] * chroma
    squared = np.einsum("hwi,ij,hwj->hw", difference, inverse, difference)
    # Darkness against the darker cheek's level, so a face lit from one side keeps its shadow side.
    reference = float(np.percentile(samples[:, 0], SHADOW_REFERENCE_PERCENTILE))
    darkness = 1.0 - lab[..., 0] / max(reference, 1.0)
    darker = np.maximum(darkness - SHADOW_DARKNESS, 0.0) / DARKNESS_STEP
    return np.sqrt(np.maximum(squared + darker**2, 0.0)).astype(np.float32)


def _touching_edge_or_large(hard: NDArray[np.uint8], oval: NDArray[np.bool_], oval_size: float) -> NDArray[np.uint8]:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(hard, connectivity=8)
    if count <= 1:
        return hard
    band = max(1, int(round(EDGE_BAND_SHARE * oval_size)))
    inner = cv2.erode(oval.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1,) * 2))
    edge = oval & (inner == 0)
    touching = np.unique(labels[edge & (hard > 0)])
    large = np.flatnonzero(stats[:, cv2.CC_STAT_AREA] >= LARGE_OCCLUDER_SHARE * float(oval.sum()))
    keep_labels = np.union1d(touching, large)
    keep_labels = keep_labels[keep_labels > 0]
    return np.isin(labels, keep_labels).astype(np.uint8)


def _open(mask: NDArray[np.uint8], size: float) -> NDArray[np.uint8]:
    radius = max(1, int(round(size)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)


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


def _fill(height: int, width: int, polygons: list[NDArray[np.float32]], *, dilate: int = 0) -> FloatMask:
    mask = np.zeros((height, width), dtype=np.uint8)
    for polygon in polygons:
        cv2.fillPoly(mask, [np.rint(np.asarray(polygon).reshape(-1, 2)).astype(np.int32)], 255)
    if dilate > 0:
        mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * dilate + 1, 2 * dilate + 1)))
    return mask.astype(np.float32) / 255.0


def _thick_line(points: NDArray[np.float32]) -> NDArray[np.float32]:
    """A thin polygon along a polyline (brows), closed by going back a little lower."""
    return np.concatenate([points, points[::-1] + np.array([0.0, 3.0], dtype=np.float32)])


def _shrink(polygon: NDArray[np.float32], factor: float) -> NDArray[np.float32]:
    centre = polygon.mean(axis=0)
    return (centre + (polygon - centre) * factor).astype(np.float32)


def _check_mask(mask: NDArray[np.generic], shape_hw: tuple[int, int]) -> FloatMask:
    values = np.asarray(mask)
    if values.shape != shape_hw:
        raise ValueError(f"mask shape {values.shape} does not match the crop {shape_hw}")
    if values.dtype == np.uint8:
        return values.astype(np.float32) / 255.0
    return np.clip(values.astype(np.float32), 0.0, 1.0)
