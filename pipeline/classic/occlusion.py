"""What in the target face is not skin (hair, a hand, glasses frames reaching its edge).

- `occlusion_mask`: template pixels to keep, from a skin-colour model fitted on the target's cheeks.
- `face_parts_68`: oval, cheek and exempt (eyes, brows, lips) masks from 68 dlib points, for the
  engines that have no mesh.
Glasses themselves (detection, frame masks, frame removal) are in `pipeline.classic.glasses`.
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
BEARD_MIN_SHARE: Final = 0.2  # a lower face with this share of hair (outside the lips) has a beard
BEARD_CLOSE_SHARE: Final = 0.06  # gaps between beard parts closed across this share of the zone's size
BEARD_SOFT_SHARE: Final = 0.04  # the beard region's edge softened over this share of the zone's size
TRUST_SPREADS: Final = 3.0  # cheek samples further than this many robust spreads from their median are not skin
TRUST_FLOOR: Final = (3.0, 1.5, 1.5)  # smallest robust spread per CIELAB channel (L, a*, b*)
EDGE_BAND_SHARE: Final = 0.12  # occluders must reach this outer band of the oval (hair, hands, frames)
LARGE_OCCLUDER_SHARE: Final = 0.06  # ... or cover this share of the oval
OPEN_SHARE: Final = 0.025  # speckle removal: morphological opening, as a share of the oval size
SMOOTH_SHARE: Final = 0.02  # final softening of the kept mask, as a share of the oval size
MINOR_COLOUR_SHARE: Final = 0.2  # cheek samples hold two colours when the smaller one has this share ...
COLOUR_SEPARATION: Final = 6.0  # ... and the two chroma centres are this many of their spreads apart
SHARP_CHROMA_STEP: Final = 400.0  # ... met at an edge (an object) when chroma changes this fast, per oval size
SKIN_HUE: Final = (10.0, 90.0)  # CIELAB hue angles (degrees) of skin in near-white light, any skin tone


@dataclass(frozen=True)
class FaceParts:
    """Float masks of one face, in the pixels of the image they were drawn for."""

    oval: FloatMask
    cheeks: FloatMask
    exempt: FloatMask  # eyes, brows and lips: never occluders


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
    target_crop: RGB,
    oval_mask: FloatMask,
    cheek_mask: FloatMask,
    exempt_mask: FloatMask,
    *,
    large_share: float = LARGE_OCCLUDER_SHARE,
    reaching_edge: bool = True,
    robust: bool = False,
) -> FloatMask:
    """Pixels of the target to KEEP (1) inside the oval: what is not skin and reaches the oval's edge
    (unless `reaching_edge` is False) or covers `large_share` of the oval. `robust` (for a source photo)
    fits the skin model on the cheek samples of skin's colour (see _skin_colour_samples) that are
    trusted (see _trusted_skin).

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
    oval_size = float(np.sqrt(small_oval.sum()))
    face_area = small_oval & ~small_exempt
    samples = lab[small_cheeks]
    if len(samples) < MIN_SKIN_SAMPLES:
        return keep
    if robust:
        samples = _trusted_skin(_skin_colour_samples(samples, lab, face_area, oval_size))
    distance = _skin_distance(lab, samples)
    low, high = SKIN_DISTANCE
    not_skin = np.clip((distance - low) / (high - low), 0.0, 1.0)
    not_skin[~small_oval | small_exempt] = 0.0
    hard = (not_skin > 0.5).astype(np.uint8)
    hard = _open(hard, OPEN_SHARE * oval_size)
    hard = _touching_edge_or_large(hard, small_oval, oval_size, large_share, reaching_edge)
    soft = cv2.GaussianBlur(hard.astype(np.float32), (0, 0), max(0.6, SMOOTH_SHARE * oval_size))
    soft[~small_oval] = 0.0
    keep = cv2.resize(soft, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.clip(keep * oval, 0.0, 1.0).astype(np.float32)


def skin_lightness(image: RGB, cheek_mask: FloatMask) -> float | None:
    """The median CIELAB lightness (0..100) of the cheeks' trusted skin samples (see _trusted_skin), or None
    when the cheeks hold too few pixels."""
    cheeks = _check_mask(cheek_mask, image.shape[:2]) > 0.5
    if int(cheeks.sum()) < MIN_SKIN_SAMPLES:
        return None
    lab = cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    return float(np.median(_trusted_skin(lab[cheeks])[:, 0]))


def beard_mask(crop: RGB, cheek_mask: FloatMask, zone_mask: FloatMask, lips_mask: FloatMask) -> FloatMask | None:
    """The beard in `zone_mask` (the face below the nose), 0..1, as one closed region; None when less
    than BEARD_MIN_SHARE of the zone outside the lips is hair.

    Hair is what the cheeks' skin model (fitted on its trusted samples) rejects. Moustache, chin and
    jaw parts are joined across the gaps between them, so the region is whole: the swap keeps it whole
    or replaces it whole, never half (the lips themselves stay out of it).
    """
    height, width = crop.shape[:2]
    zone = _check_mask(zone_mask, (height, width))
    cheeks = _check_mask(cheek_mask, (height, width))
    lips = _check_mask(lips_mask, (height, width))
    scale = min(1.0, WORK_SIZE / max(height, width))
    size = (max(1, int(round(width * scale))), max(1, int(round(height * scale))))
    small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    small_zone = (cv2.resize(zone, size, interpolation=cv2.INTER_AREA) > 0.5) & ~(
        cv2.resize(lips, size, interpolation=cv2.INTER_AREA) > 0.5
    )
    small_cheeks = (cv2.resize(cheeks, size, interpolation=cv2.INTER_AREA) > 0.5) & ~small_zone
    lab = cv2.cvtColor(small.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    samples = lab[small_cheeks]
    if len(samples) < MIN_SKIN_SAMPLES or small_zone.sum() < MIN_SKIN_SAMPLES:
        return None
    hair = (_skin_distance(lab, _trusted_skin(samples)) > SKIN_DISTANCE[1]) & small_zone
    if hair.sum() < BEARD_MIN_SHARE * small_zone.sum():
        return None
    zone_size = float(np.sqrt(small_zone.sum()))
    hard = _open(hair.astype(np.uint8), OPEN_SHARE * zone_size)
    radius = max(1, int(round(BEARD_CLOSE_SHARE * zone_size)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2)
    closed = cv2.morphologyEx(hard, cv2.MORPH_CLOSE, kernel)
    closed &= small_zone.astype(np.uint8)
    # A wide soft edge: the beard fades into the source's skin, without a rim.
    soft = cv2.GaussianBlur(closed.astype(np.float32), (0, 0), max(0.6, BEARD_SOFT_SHARE * zone_size))
    full = cv2.resize(soft, (width, height), interpolation=cv2.INTER_LINEAR) * zone
    return np.clip(full, 0.0, 1.0).astype(np.float32)


def _skin_colour_samples(
    samples: NDArray[np.float32], lab: NDArray[np.float32], face_area: NDArray[np.bool_], oval_size: float
) -> NDArray[np.float32]:
    """The cheek samples that are skin when they hold two distinct colours that meet at an edge (an
    object over much of one cheek): those of the colour whose hue lies nearer skin's, or the more
    numerous one when both do. All samples otherwise, and when the colours fade into each other
    across the face (each cheek in its own coloured light: both are skin)."""
    split = _two_colours(samples[:, 1:].astype(np.float64))
    if split is None:
        return samples
    centres, labels = split
    nearest = np.argmin(((lab[..., 1:, None] - centres.T[None, None]) ** 2).sum(axis=2), axis=2)
    beside = [cv2.dilate(((nearest == k) & face_area).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0 for k in (0, 1)]
    if not _sharp(_chroma_step(lab), beside[0] & beside[1] & face_area, oval_size):
        return samples
    off_hue = [_degrees_off_skin_hue(float(a), float(b)) for a, b in centres]
    counts = np.bincount(labels, minlength=2)
    skin = int(np.argmin(off_hue)) if off_hue[0] != off_hue[1] else int(counts.argmax())
    return samples[labels == skin]


def _two_colours(chroma: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.int64]] | None:
    """Two means of (a*, b*) samples, started from a split along their main axis: (centres, labels), or
    None unless both colours hold MINOR_COLOUR_SHARE of the samples and lie COLOUR_SEPARATION apart."""
    centred = chroma - chroma.mean(axis=0)
    axis = np.linalg.svd(centred, full_matrices=False)[2][0]
    labels = (centred @ axis > 0).astype(np.int64)
    for _ in range(10):
        if labels.min() == labels.max():
            return None
        centres = np.stack([chroma[labels == k].mean(axis=0) for k in (0, 1)])
        labels = np.argmin(((chroma[:, None, :] - centres[None]) ** 2).sum(axis=2), axis=1)
    counts = np.bincount(labels, minlength=2)
    spread = float(np.sqrt(((chroma - centres[labels]) ** 2).sum(axis=1).mean()))
    separation = float(np.hypot(*(centres[0] - centres[1]))) / max(spread, TRUST_FLOOR[1])
    if counts.min() < MINOR_COLOUR_SHARE * len(chroma) or separation < COLOUR_SEPARATION:
        return None
    return centres, labels


def meeting_skin_at_an_edge(image: RGB, regions: list[NDArray[np.bool_]], skin: NDArray[np.bool_]) -> list[bool]:
    """For each region, whether chroma changes sharply (SHARP_CHROMA_STEP) along most of its outline
    against the skin: an object's edge, not a highlight or a patch of skin in another light."""
    if not regions:
        return []
    height, width = image.shape[:2]
    scale = min(1.0, WORK_SIZE / max(height, width))
    size = (max(1, int(round(width * scale))), max(1, int(round(height * scale))))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    step = _chroma_step(cv2.cvtColor(small.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB))
    small_skin = cv2.resize(skin.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    found = []
    for region in regions:
        small_region = cv2.resize(region.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
        beside_skin = cv2.dilate((small_skin & ~small_region).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
        area_size = float(np.sqrt(max(1, int((small_skin | small_region).sum()))))
        found.append(_sharp(step, small_region & beside_skin, area_size))
    return found


def _chroma_step(lab: NDArray[np.float32]) -> NDArray[np.float32]:
    """How fast chroma (a*, b*) changes at each pixel, per pixel."""
    smooth = cv2.GaussianBlur(lab, (0, 0), 0.8)
    squared = sum(
        cv2.Sobel(smooth[..., channel], cv2.CV_32F, 1, 0) ** 2 + cv2.Sobel(smooth[..., channel], cv2.CV_32F, 0, 1) ** 2
        for channel in (1, 2)
    )
    return (np.sqrt(squared) / 8.0).astype(np.float32)


def _sharp(step: NDArray[np.float32], line: NDArray[np.bool_], oval_size: float) -> bool:
    """Whether chroma changes by SHARP_CHROMA_STEP per oval size or faster along most of `line`."""
    return bool(line.any()) and float(np.median(step[line] * oval_size)) >= SHARP_CHROMA_STEP


def _degrees_off_skin_hue(a: float, b: float) -> float:
    """How far (degrees) the hue of CIELAB chroma (a*, b*) lies outside SKIN_HUE; 0 inside it."""
    hue = float(np.degrees(np.arctan2(b, a)))
    low, high = SKIN_HUE
    if low <= hue <= high:
        return 0.0
    return min(abs((hue - end + 180.0) % 360.0 - 180.0) for end in (low, high))


def _trusted_skin(samples: NDArray[np.float32]) -> NDArray[np.float32]:
    """The cheek samples within TRUST_SPREADS robust spreads (median absolute deviation) of their median
    in every CIELAB channel: an object held over a cheek would otherwise widen the model (and darken its
    shadow reference) until the object itself passes for skin. All samples when too few are left."""
    median = np.median(samples, axis=0)
    deviation = np.abs(samples - median)
    spread = np.maximum(1.4826 * np.median(deviation, axis=0), TRUST_FLOOR)
    trusted = np.all(deviation <= TRUST_SPREADS * spread, axis=1)
    return samples[trusted] if trusted.sum() >= max(MIN_SKIN_SAMPLES, len(samples) // 2) else samples


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
    a, b = difference[..., 0], difference[..., 1]  # the 2 x 2 quadratic form written out: einsum is slower
    squared = inverse[0, 0] * a * a + (inverse[0, 1] + inverse[1, 0]) * a * b + inverse[1, 1] * b * b
    # Darkness against the darker cheek's level, so a face lit from one side keeps its shadow side.
    reference = float(np.percentile(samples[:, 0], SHADOW_REFERENCE_PERCENTILE))
    darkness = 1.0 - lab[..., 0] / max(reference, 1.0)
    darker = np.maximum(darkness - SHADOW_DARKNESS, 0.0) / DARKNESS_STEP
    return np.sqrt(np.maximum(squared + darker**2, 0.0)).astype(np.float32)


def _touching_edge_or_large(
    hard: NDArray[np.uint8],
    oval: NDArray[np.bool_],
    oval_size: float,
    large_share: float = LARGE_OCCLUDER_SHARE,
    reaching_edge: bool = True,
) -> NDArray[np.uint8]:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(hard, connectivity=8)
    if count <= 1:
        return hard
    band = max(1, int(round(EDGE_BAND_SHARE * oval_size)))
    inner = cv2.erode(oval.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1,) * 2))
    edge = oval & (inner == 0)
    touching = np.unique(labels[edge & (hard > 0)]) if reaching_edge else np.zeros(0, dtype=np.int32)
    large = np.flatnonzero(stats[:, cv2.CC_STAT_AREA] >= large_share * float(oval.sum()))
    keep_labels = np.union1d(touching, large)
    keep_labels = keep_labels[keep_labels > 0]
    return np.isin(labels, keep_labels).astype(np.uint8)


def _open(mask: NDArray[np.uint8], size: float) -> NDArray[np.uint8]:
    radius = max(1, int(round(size)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)


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
