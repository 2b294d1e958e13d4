"""Glasses on a face: whether there are any, where their frames are, and faces without them.

- `has_glasses`: frames found for sure: a line across the nose bridge AND a rim around each eye (below
  it too), the two rims alike; a fainter bridge line (thin metal frames) counts between two complete
  rims. From 5 key points, 68 dlib points or a 468/478-point MediaPipe mesh.
  A source is inpainted only then: strong brows, a fringe, deep-set eyes or a grimace cross the bridge
  too, and erased eyes are far worse than a kept frame.
  Rimless lenses have no rim: a line across the bridge and a thin temple arm at each side count too.
- `may_have_glasses`: the bridge line alone, the lenient test for a target's own frames (kept).
- `frame_mask`: the frame lines around the eyes: the two rims, fitted as rounded rectangles, and the
  dark lines (bridge, temples, thick rims) next to them.
- `remove_frames`: a source face with its frames inpainted away, before it is transferred.
- `glasses_keep_mask`: the target's own frames, kept from the template like any occluder.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final, Literal

import cv2
import numpy as np
from numpy.typing import NDArray

from pipeline.classic.face_geometry import along_face
from pipeline.classic.inpaint import biharmonic_fill

RGB = NDArray[np.uint8]
FloatMask = NDArray[np.float32]
Points = NDArray[np.float32]

GLASSES_THRESHOLD: Final = 0.6  # has_glasses score at or above which frames are reported
FAINT_BRIDGE_THRESHOLD: Final = 0.35  # ... or this, where both rims are complete (RIM_STRONG_COVERAGE)
TEMPLE_ARM_THRESHOLD: Final = 0.6  # rimless lenses: both temple arms' line scores at or above this ...
TEMPLE_ARM_FULL: Final = 0.8  # ... or one arm this complete (a turned head's near arm) ...
TEMPLE_ARM_FAR_MIN: Final = 0.3  # ... lets the other (foreshortened, or over hair) count from this
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
LEVEL_EYE_DISTANCE: Final = 64.0  # the levelled face has its eye centres this far apart ...
LEVEL_SIZE: Final = (160, 140)  # ... in an image this large (width, height) ...
LEVEL_EYES_AT: Final = (80.0, 60.0)  # ... with the point between them here
# Rims: rounded rectangles |x/a|^n + |y/b|^n = 1 around each eye centre, mirrored across the face,
# searched over these sizes and offsets (shares of the eye distance) and exponents.
RIM_HALF_WIDTHS: Final = (0.34, 0.38, 0.42, 0.46, 0.50, 0.54, 0.58, 0.62)
RIM_HALF_HEIGHTS: Final = (0.20, 0.24, 0.28, 0.32, 0.36, 0.40, 0.44)
RIM_OFFSETS_X: Final = (-0.08, -0.04, 0.0, 0.04, 0.08, 0.12)  # towards the nose (negative) or the temple
RIM_OFFSETS_Y: Final = (-0.06, -0.02, 0.02, 0.06, 0.10, 0.14, 0.18)  # down from the eye line
RIM_REFINE_REACH: Final = 0.02  # the best coarse shape is refined this far either way ...
RIM_REFINE_STEP: Final = 0.01  # ... in steps this small
RIM_EXPONENTS: Final = (2.0, 3.0, 5.0)  # 2: an ellipse; larger: squarer corners
RIM_SAMPLES: Final = 48  # points per rim
RIM_RIDGE_SIGMAS: Final = (1.2, 2.4)  # Hessian scales (levelled pixels) of the ridge filter
RIM_RIDGE_SPREAD: Final = 1.0  # the ridge map is blurred this much, so a rim a pixel off still counts
TEMPLE_ARM_REACH: Final = (0.2, 0.45)  # the arms are looked for this far out from the eyes' outer corners ...
TEMPLE_ARM_ROWS: Final = (-0.3, 0.1)  # ... between these heights (eye distances, down from the corners)
ARM_GAP: Final = 3  # levelled pixels: an arm is darker than the skin this far above AND below it ...
ARM_CONTRAST: Final = 10.0  # ... by this much (normalised contrast): a fringe's or a brow's edge is dark on one side
RIM_RIDGE_LEVEL: Final = 12.0  # ridge strength (normalised contrast) a rim point reaches on a frame
RIM_BAR_SHARE: Final = 0.06  # dark lines this close to a rim are frame even on the brows
RIM_ZONE_SHARE: Final = 0.12  # dark lines this close to a rim (or on the bridge, the temples) are frame
REMNANT_RING_SHARE: Final = 0.06  # frame remnants are looked for this far (eye distances) round the frame mask ...
REMNANT_SKIN_SIGMA_SHARE: Final = 0.15  # ... against the skin's lightness at this scale ...
REMNANT_MIN_CONTRAST: Final = 14.0  # ... standing out by at least this many grey levels ...
REMNANT_SPREADS: Final = 3.0  # ... and this many times the ring's median deviation ...
REMNANT_STEPS: Final = 3  # ... over this many rings, a remnant's continuation followed outwards
REMNANT_BROW_DARKNESS: Final = 0.6  # ... onto the brows only where darker than this x the brows' median
FRAME_BAND_HALF_HEIGHT: Final = 0.45  # frame lines lie in an ellipse this high (eye distances) round the eyes
FRAME_CROP_MARGIN: Final = 0.2  # the work crop reaches this far (eye distances) beyond that ellipse
# Rims confirmed one eye at a time: only shapes that clear the eye (a rim, not the lids or the crease).
EVIDENCE_HALF_WIDTHS: Final = (0.38, 0.42, 0.46, 0.50, 0.54, 0.58, 0.62)
EVIDENCE_HALF_HEIGHTS: Final = (0.28, 0.32, 0.36, 0.40, 0.44, 0.50, 0.56)
EVIDENCE_LOWER_SINE: Final = 0.3  # rim points this far below the rim's centre (sine of the angle) make its lower arc
RIM_MIN_COVERAGE: Final = 0.85  # share of each rim's points on a dark ridge, at both eyes
RIM_MIN_LOWER_COVERAGE: Final = 0.8  # ... and of its lower arc (under the eye, where brows and fringes never are)
RIM_STRONG_COVERAGE: Final = 0.9  # both rims this complete (lower arcs too): a thin, faint bridge is enough
RIM_FULL_COVERAGE: Final = 0.95  # a turned face's near rim this complete (lower arc too) ...
RIM_FAR_MIN_COVERAGE: Final = 0.6  # ... lets the foreshortened far rim count from this share
RIMS_MAX_DROP: Final = 0.1  # the two rims' centres differ by at most this much vertically (eye distances)
RIMS_MAX_HEIGHT_GAP: Final = 0.12  # ... and their half heights by at most this much

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
class FrameSearch:
    """Where frame lines are looked for (eye distances): round the fitted rims, drawn `rim_thickness`
    thick, inside an ellipse `band_half_width` wide round the eyes' middle, and at the temples (the
    arms) up to `arm_reach` beyond each rim, from its top down to `arm_drop` below its middle."""

    rim_thickness: float
    band_half_width: float
    arm_reach: float
    arm_drop: float
    shade_below_eyes: float = 0.0  # dark regions below the eyes this wide or wider are shade, not frame (0: off)


@dataclass(frozen=True)
class FrameMatte:
    """A frame mask weighted per pixel by how far the pixel stands out, darker or lighter, from its
    surroundings within `line_share` eye distances: 0 at `contrast[0]` grey levels, 1 from `contrast[1]`."""

    contrast: tuple[float, float]
    line_share: float


# A target's own frames, kept: close to the rims (a wider search keeps temple shadows, whose edges crack).
# glasses_keep_mask sets `shade_below_eyes` from the region settings.
KEPT_FRAMES: Final = FrameSearch(rim_thickness=0.1, band_half_width=1.05, arm_reach=0.5, arm_drop=0.0)
# A source's frames, inpainted: lens edges too, and the temple arms out to the face's edge. The rims are drawn
# as thin as the kept ones: what a thick frame has beyond them is followed out by _with_frame_remnants.
REMOVED_FRAMES: Final = FrameSearch(rim_thickness=0.1, band_half_width=1.4, arm_reach=0.8, arm_drop=0.12)


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

    def below_eyes(self, shape_hw: tuple[int, ...]) -> NDArray[np.bool_]:
        """The pixels below the line through the outer eye corners (tilted with the head)."""
        across = self.left_outer - self.right_outer
        down = np.array([-across[1], across[0]], dtype=np.float32) / max(float(np.hypot(*across)), 1e-6)
        return along_face(shape_hw, down) > float(self.right_outer @ down)


@dataclass(frozen=True)
class LevelFace:
    """The face rotated level and scaled (LEVEL_EYE_DISTANCE), contrast-normalised grey, with its geometry
    and the 2 x 3 matrix from image pixels to levelled pixels."""

    grey: NDArray[np.float32]
    geometry: EyeGeometry
    matrix: NDArray[np.float64]


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
            brow_centre=(p[65, :2] + p[295, :2]) / 2.0,  # level with dlib's inner brow ends (21, 22)
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


@dataclass(frozen=True)
class RimEvidence:
    """The best rim found around each eye (subject's right first), fitted one eye at a time."""

    coverage: tuple[float, float]  # share of the rim's points on a dark ridge
    lower_coverage: tuple[float, float]  # ... of its lower arc
    shapes: tuple[tuple[float, ...], tuple[float, ...]]  # (exponent, half width, half height, offset x, offset y)

    @property
    def found(self) -> bool:
        """A rim at both eyes, lower arcs included, and the two alike (frames are worn level). On a turned
        face the far rim is foreshortened past the shapes searched: one complete rim lets it count lower."""
        return bool(_rims_found(*self._pair())[0])

    @property
    def strong(self) -> bool:
        """Both rims complete, lower arcs too, and alike: bare faces' brows, lids and shadows stay below."""
        return bool(_rims_found(*self._pair())[1])

    def _pair(self) -> tuple[NDArray[np.float32], ...]:
        (right, left) = self.shapes
        values = (*self.coverage, *self.lower_coverage, right[2], left[2], right[4], left[4])
        return tuple(np.asarray(value, dtype=np.float32) for value in values)


def _rims_found(
    cover_r: NDArray[np.float32], cover_l: NDArray[np.float32], low_r: NDArray[np.float32], low_l: NDArray[np.float32],
    height_r: NDArray[np.float32], height_l: NDArray[np.float32], drop_r: NDArray[np.float32], drop_l: NDArray[np.float32],
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """(found, strong) for pairs of rims given by their coverages, half heights and vertical offsets
    (arrays that broadcast together): RimEvidence's two tests, on many pairs at once."""
    rims_r, rims_l = np.minimum(cover_r, low_r), np.minimum(cover_l, low_l)
    level = np.abs(drop_r - drop_l) <= RIMS_MAX_DROP + 1e-6  # the shapes' steps are float32
    alike = level & (np.abs(height_r - height_l) <= RIMS_MAX_HEIGHT_GAP + 1e-6)
    both = (np.minimum(cover_r, cover_l) >= RIM_MIN_COVERAGE) & (np.minimum(low_r, low_l) >= RIM_MIN_LOWER_COVERAGE)
    one_complete = (np.maximum(rims_r, rims_l) >= RIM_FULL_COVERAGE) & (
        np.minimum(rims_r, rims_l) >= RIM_FAR_MIN_COVERAGE
    )
    strong = np.minimum(rims_r, rims_l) >= RIM_STRONG_COVERAGE
    return (both | one_complete) & alike, strong & alike


GlassesKind = Literal["none", "framed", "rimless"]


def has_glasses(image: RGB, points: Points) -> bool:
    """True only when glasses are found for sure (see glasses_kind)."""
    return glasses_kind(image, points) != "none"


def glasses_kind(image: RGB, points: Points) -> GlassesKind:
    """What glasses are found for sure. "framed": a line across the bridge and a dark rim at each eye, or
    a fainter line across the bridge between two complete rims (thin metal frames). "rimless": a line
    across the bridge and a thin temple arm at each side (a fringe's edge, the brows' tails and creases
    are dark on one side only; see temple_arms_found). "none" otherwise."""
    level = _level_face(image, eye_geometry(points))
    if level is None:
        return "none"
    score = _bridge_score(level)
    if score < FAINT_BRIDGE_THRESHOLD:
        return "none"
    evidence = rim_evidence(level)
    if evidence.found if score >= GLASSES_THRESHOLD else evidence.strong:
        return "framed"
    if score >= GLASSES_THRESHOLD and temple_arms_found(temple_arm_scores(level)):
        return "rimless"
    return "none"


def temple_arms_found(scores: tuple[float, float]) -> bool:
    """An arm at both temples: both scores at TEMPLE_ARM_THRESHOLD, or one complete arm and the other from
    TEMPLE_ARM_FAR_MIN, as a turned head's far arm is short or lies over hair (the rims' rule, for arms).
    One strong line at one temple alone (a finger, a strand) is no pair."""
    near, far = max(scores), min(scores)
    return far >= TEMPLE_ARM_THRESHOLD or (near >= TEMPLE_ARM_FULL and far >= TEMPLE_ARM_FAR_MIN)


def may_have_glasses(image: RGB, points: Points) -> bool:
    """True when a line crosses the nose bridge (glasses, but also some brows, fringes or creases)."""
    return glasses_score(image, points) >= GLASSES_THRESHOLD


def rim_evidence(level: LevelFace) -> RimEvidence:
    """The rims around the two eyes that best make a pair: each shape scored by the lower of its whole
    coverage and its lower arc's, on the ridge map with the eyes and brows cut out. The pair is chosen
    among alike shapes (level, of one height), so one eye's best fit on a lid crease does not hide a
    frame that the other eye's alike rim follows."""
    ridge = _dark_ridges(level.grey)
    ridge[_eyes_and_brows(ridge.shape, level.geometry, LEVEL_EYE_DISTANCE) > 0] = -1.0
    shapes, outlines = _grid_outlines(
        RIM_EXPONENTS, EVIDENCE_HALF_WIDTHS, EVIDENCE_HALF_HEIGHTS, RIM_OFFSETS_X, RIM_OFFSETS_Y
    )
    lower = np.sin(np.linspace(0.0, 2.0 * np.pi, RIM_SAMPLES, endpoint=False)) > EVIDENCE_LOWER_SINE
    # Alikeness depends only on the half height and the vertical offset: each eye's best shape for each.
    groups = np.unique(shapes[:, [2, 4]], axis=0, return_inverse=True)[1].ravel()
    per_eye = []
    for outline in outlines:
        values = cv2.remap(ridge, outline[..., 0], outline[..., 1], cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=-1.0)
        valid, hit = values >= 0.0, values >= RIM_RIDGE_LEVEL
        coverage = hit.sum(axis=1) / np.maximum(valid.sum(axis=1), 1)
        low = hit[:, lower].sum(axis=1) / np.maximum(valid[:, lower].sum(axis=1), 1)
        strength = np.clip(values, 0.0, 3.0 * RIM_RIDGE_LEVEL).mean(axis=1)  # invalid points are negative: 0
        rank = np.minimum(coverage, low) + 1e-3 * strength
        order = np.lexsort((-rank, groups))
        best = order[np.r_[True, groups[order][1:] != groups[order][:-1]]]  # each group's first
        per_eye.append((coverage[best], low[best], rank[best], shapes[best]))
    (cover_r, low_r, rank_r, shape_r), (cover_l, low_l, rank_l, shape_l) = per_eye
    # Every right shape (rows) against every left shape (columns).
    found, _ = _rims_found(cover_r[:, None], cover_l[None, :], low_r[:, None], low_l[None, :],
                           shape_r[:, None, 2], shape_l[None, :, 2], shape_r[:, None, 4], shape_l[None, :, 4])
    ranks = np.minimum(rank_r[:, None], rank_l[None, :]), np.maximum(rank_r[:, None], rank_l[None, :])
    right, left = np.unravel_index(np.lexsort((ranks[1].ravel(), ranks[0].ravel(), found.ravel()))[-1], found.shape)
    return RimEvidence(
        (float(cover_r[right]), float(cover_l[left])),
        (float(low_r[right]), float(low_l[left])),
        (tuple(float(v) for v in shape_r[right]), tuple(float(v) for v in shape_l[left])),
    )


def glasses_score(image: RGB, points: Points) -> float:
    """0..1: how completely one horizontal line crosses the nose bridge between the eyes.

    The face is rotated level, scaled so the eye centres are 64 px apart, and its contrast is
    normalised. In the middle of the bridge (from just below the brows to the bridge point) a frame
    is a row band where nearly every column has both a strong vertical gradient and a strong
    ridge (second derivative); skin, brows and eye-corner shading cover only part of the width.
    """
    level = _level_face(image, eye_geometry(points))
    return 0.0 if level is None else _bridge_score(level)


def _bridge_score(level: LevelFace) -> float:
    """glasses_score on a face already levelled."""
    grey, geo = cv2.GaussianBlur(level.grey, (0, 0), 1.0), level.geometry
    centre = (geo.right_inner[0] + geo.left_inner[0]) / 2.0
    half = BRIDGE_WIDTH_SHARE * (geo.left_inner[0] - geo.right_inner[0])
    rows = slice(max(1, int(geo.brow_centre[1] + 4)), min(grey.shape[0] - 1, int(geo.nose_bridge[1] + 4)))
    cols = slice(max(0, int(centre - half)), min(grey.shape[1], int(centre + half) + 1))
    if rows.stop - rows.start < 3 or cols.stop - cols.start < 3:
        return 0.0
    gradient = np.abs(cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3))[rows, cols] / 4.0
    ridge = np.abs(cv2.Sobel(grey, cv2.CV_32F, 0, 2, ksize=5))[rows, cols] / 16.0
    return min(_row_coverage(gradient > EDGE_LEVEL), _row_coverage(ridge > RIDGE_LEVEL))


def temple_arm_scores(level: LevelFace) -> tuple[float, float]:
    """0..1 at each side (subject's right first): how completely one thin dark line runs out from the
    eye's outer corner towards the ear (the largest share of the strip's columns that hold one in a band
    of 3 rows)."""
    geo, distance = level.geometry, LEVEL_EYE_DISTANCE
    smooth = cv2.GaussianBlur(level.grey, (0, 0), 1.0)
    above, below = np.roll(smooth, ARM_GAP, axis=0), np.roll(smooth, -ARM_GAP, axis=0)
    thin = (np.minimum(above, below) - smooth) > ARM_CONTRAST
    height, width = thin.shape
    near, far = (share * distance for share in TEMPLE_ARM_REACH)
    scores = []
    for corner, side in ((geo.right_outer, -1.0), (geo.left_outer, 1.0)):
        top = max(ARM_GAP, int(corner[1] + TEMPLE_ARM_ROWS[0] * distance))
        bottom = min(height - ARM_GAP, int(corner[1] + TEMPLE_ARM_ROWS[1] * distance))
        left, right = sorted((corner[0] + side * near, corner[0] + side * far))
        strip = thin[top:bottom, max(0, int(left)) : min(width, int(right))]
        scores.append(_row_coverage(strip) if strip.shape[0] >= 3 and strip.shape[1] >= 3 else 0.0)
    return scores[0], scores[1]


def frame_mask(
    image: RGB, points: Points, *, search: FrameSearch = KEPT_FRAMES, matte: FrameMatte | None = None
) -> FloatMask:
    """The frames around the eyes, outside the eyes themselves, 0 or 1; with a `matte`, 0..1, each pixel
    weighted by how much it stands out as a line (see _line_contrast).

    The two rims are fitted (see _rim_masks) and drawn `search.rim_thickness` eye distances thick; a
    black-hat (closing minus image) with a kernel 0.3 eye distances wide and an Otsu threshold adds
    the dark lines near them: the bridge, the temples, a thick top bar even where it covers the
    brows. The work runs on a copy of the eye band scaled so the eyes are FRAME_WORK_EYE_DISTANCE
    pixels apart. remove_frames inpaints the mask of REMOVED_FRAMES.
    """
    mask = np.zeros(image.shape[:2], dtype=np.float32)
    work = _frame_work(image, points, search)
    if work is not None:
        rows, cols = slice(work.top, work.top + work.box[0]), slice(work.left, work.left + work.box[1])
        if matte is not None:
            contrast = _line_contrast(work.crop, work.geometry, matte)
            mask[rows, cols] = _upsample_matte(work.mask, contrast, work.box)
        else:
            mask[rows, cols] = _upsample_mask(work.mask, work.box)
    return mask


def _line_contrast(crop: RGB, geometry: EyeGeometry, matte: FrameMatte) -> FloatMask:
    """0..1 per pixel of the reduced crop: how far it stands out, darker or lighter, from its surroundings
    within `matte.line_share` eye distances (black-hat and top-hat), ramped over `matte.contrast`. A wire
    or a rim's edge scores 1; the skin a rim's drawn ring covers beside it, 0."""
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    size = max(3, int(round(matte.line_share * geometry.eye_distance)) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    dark = cv2.morphologyEx(grey, cv2.MORPH_BLACKHAT, kernel, borderType=cv2.BORDER_REPLICATE)
    light = cv2.morphologyEx(grey, cv2.MORPH_TOPHAT, kernel, borderType=cv2.BORDER_REPLICATE)
    low, high = matte.contrast
    return np.clip((np.maximum(dark, light).astype(np.float32) - low) / (high - low), 0.0, 1.0)


def _upsample_matte(mask: NDArray[np.uint8], contrast: FloatMask, box: tuple[int, int]) -> FloatMask:
    """The frame mask (0/255) weighted by `contrast`, resized to `box` (height, width) with soft edges."""
    soft = (mask > 127).astype(np.float32) * contrast
    if soft.shape != box:
        soft = cv2.resize(soft, (box[1], box[0]), interpolation=cv2.INTER_LINEAR)
    return np.clip(soft, 0.0, 1.0)


def glasses_keep_mask(image: RGB, points: Points, *, shade_below_eyes: float, matte: FrameMatte) -> FloatMask:
    """The target's own frames, to keep from the template, 0..1 (zeros when no line crosses its bridge):
    KEPT_FRAMES without the wide shade below the eyes (`shade_below_eyes`), as a `matte`.

    Lenient on purpose: keeping a template's dark lines costs little, erasing half its frames a lot. The
    matte lets the skin the drawn rims cover show the source, as the rest of the face does."""
    if not may_have_glasses(image, points):
        return np.zeros(image.shape[:2], dtype=np.float32)
    return frame_mask(image, points, search=replace(KEPT_FRAMES, shade_below_eyes=shade_below_eyes), matte=matte)


def remove_frames(image: RGB, points: Points, *, rimless: bool = False) -> RGB:
    """The face with frame lines inpainted away (biharmonic, on the reduced eye band), the rest untouched.
    `rimless`: only the metal (the bridge's bar and the temple arms); the lenses' faint edges stay, as
    an outline fitted a little off would smear the eyes."""
    result = image.copy()
    work = _frame_work(image, points, REMOVED_FRAMES, rimless=rimless)
    if work is None:
        return result
    if not work.mask.any():
        return result
    # Rimless: the lenses' faint edges stay (see above), so nothing is followed out.
    small_mask = work.mask if rimless else _with_frame_remnants(work.crop, work.mask, work.geometry)
    box = work.box
    filled = biharmonic_fill(work.crop, small_mask > 0)  # Telea's fill drew the lens outlines back in
    if filled.shape[:2] != box:
        filled = cv2.resize(filled, (box[1], box[0]), interpolation=cv2.INTER_CUBIC)
    inside = _upsample_mask(small_mask, box) > 0.5
    view = result[work.top : work.top + box[0], work.left : work.left + box[1]]
    view[inside] = filled[inside]
    return result


def _with_frame_remnants(small: RGB, mask: NDArray[np.uint8], geometry: EyeGeometry) -> NDArray[np.uint8]:
    """`mask` grown by what of the frame lies next to it: pixels in a thin ring round it whose lightness
    stands out from the skin around (a highlight on a bar, a lens edge the rim fit missed, an arm's end).
    Left, they would seed the biharmonic fill with bright or dark blobs, or show as dashes. The eyes, with
    a ring round them, are never followed into (lashes stand out as much as a frame does); the brows only
    where a pixel is darker than REMNANT_BROW_DARKNESS x the brows' median (a thick bar over them)."""
    distance = geometry.eye_distance
    grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32)
    reach = max(1, int(round(REMNANT_RING_SHARE * distance)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
    eyes = cv2.dilate(_eyes_and_brows(grey.shape, geometry, distance, brows=False), kernel) > 0
    brow_lines = (_eyes_and_brows(grey.shape, geometry, distance) > 0) & ~eyes
    brows = (cv2.dilate(brow_lines.astype(np.uint8), kernel) > 0) & ~eyes
    brow_level = float(np.median(grey[brow_lines])) if brow_lines.any() else 0.0  # no brows: `brows` is empty
    blocked = eyes | (brows & (grey >= REMNANT_BROW_DARKNESS * brow_level))
    sigma = REMNANT_SKIN_SIGMA_SHARE * distance
    grown = mask > 0
    for _ in range(REMNANT_STEPS):
        skin = (~grown & ~eyes & ~brows).astype(np.float32)
        weight = cv2.GaussianBlur(skin, (0, 0), sigma)
        around = cv2.GaussianBlur(grey * skin, (0, 0), sigma) / np.maximum(weight, 1e-3)
        ring = (cv2.dilate(grown.astype(np.uint8), kernel) > 0) & ~grown & ~blocked
        if not ring.any():
            break
        deviation = np.abs(grey - around)
        level = max(REMNANT_MIN_CONTRAST, REMNANT_SPREADS * float(np.median(deviation[ring])))
        remnant = ring & (deviation > level)
        if not remnant.any():
            break
        grown |= (cv2.dilate(remnant.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0) & ~blocked
    return grown.astype(np.uint8) * 255


@dataclass(frozen=True)
class FrameWork:
    """The frames found on a reduced copy of the eye band: where it lies in the image, and in its pixels
    the frame mask (0/255) and the eyes' geometry."""

    top: int
    left: int
    box: tuple[int, int]  # (height, width) of the band in the image
    crop: RGB
    mask: NDArray[np.uint8]
    geometry: EyeGeometry


def _frame_work(image: RGB, points: Points, search: FrameSearch, *, rimless: bool = False) -> FrameWork | None:
    """The frames found on the eye band, or None for tiny faces."""
    geometry = eye_geometry(points)
    distance = geometry.eye_distance
    if distance < 8.0:
        return None
    height, width = image.shape[:2]
    centre = (geometry.right_outer + geometry.left_outer) / 2.0
    reach = (search.band_half_width + FRAME_CROP_MARGIN) * distance
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
    rims = _rims_in_crop(image, geometry, crop.shape[:2], offset, factors, search, rimless)
    small_geometry = eye_geometry(small_points)
    mask = _frame_lines(crop, small_geometry, rims, search.band_half_width, search.shade_below_eyes)
    return FrameWork(top, left, box, crop, mask, small_geometry)


def _rims_in_crop(
    image: RGB,
    geometry: EyeGeometry,
    shape_hw: tuple[int, ...],
    offset: NDArray[np.float32],
    factors: NDArray[np.float32],
    search: FrameSearch,
    rimless: bool,
) -> tuple[NDArray[np.uint8], NDArray[np.uint8]] | None:
    """(the fitted rims, the zone where frame lines may lie), 0/255, in the reduced crop's pixels; for
    rimless glasses no rims, and the zone of the bridge's bar and the temple arms."""
    level = _level_face(image, geometry)
    if level is None:
        return None
    rims, zone = _metal_zone(level, search.band_half_width) if rimless else _rim_masks(level, search)
    to_image = cv2.invertAffineTransform(level.matrix)
    to_crop = np.diag(factors.astype(np.float64)) @ to_image
    to_crop[:, 2] -= offset * factors
    size = (shape_hw[1], shape_hw[0])
    return (
        cv2.warpAffine(rims, to_crop, size, flags=cv2.INTER_NEAREST),
        cv2.warpAffine(zone, to_crop, size, flags=cv2.INTER_NEAREST),
    )


def _metal_zone(level: LevelFace, band_half_width: float) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    """_rim_masks' two masks for rimless glasses: no rims, and the zone of their metal (0/255, levelled
    pixels): between the inner eye corners and beyond each outer corner (out to the frame band's end), at
    the heights temple_arm_scores searches."""
    geo, distance = level.geometry, LEVEL_EYE_DISTANCE
    zone = np.zeros(level.grey.shape, dtype=np.uint8)
    grow = RIM_ZONE_SHARE * distance
    top, bottom = (LEVEL_EYES_AT[1] + share * distance for share in TEMPLE_ARM_ROWS)
    cv2.rectangle(zone, _pixel(geo.right_inner[0], top), _pixel(geo.left_inner[0], bottom + grow), 255, -1)
    for corner, side in ((geo.right_outer, -1.0), (geo.left_outer, 1.0)):
        start = corner[0] + side * TEMPLE_ARM_REACH[0] * distance
        end = LEVEL_EYES_AT[0] + side * band_half_width * distance
        rows = (corner[1] + TEMPLE_ARM_ROWS[0] * distance, corner[1] + TEMPLE_ARM_ROWS[1] * distance + grow)
        cv2.rectangle(zone, _pixel(start, rows[0]), _pixel(end, rows[1]), 255, -1)
    return np.zeros_like(zone), zone


def _pixel(x: float, y: float) -> tuple[int, int]:
    return int(round(float(x))), int(round(float(y)))


def _rim_masks(
    level: LevelFace, search: FrameSearch = KEPT_FRAMES
) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    """The two rims that best follow dark ridges around the eyes, drawn `search.rim_thickness` thick, and
    the zone around them (grown by RIM_ZONE_SHARE, plus the temples), in levelled pixels.

    Every candidate shape is sampled at once on a ridge map (the largest Hessian eigenvalue, which is
    high along dark lines) with the eyes and brows cut out; the shape whose points most often reach
    RIM_RIDGE_LEVEL wins. Frames are worn level and symmetric, so one shape is mirrored to both eyes.
    """
    distance = LEVEL_EYE_DISTANCE
    ridge = _dark_ridges(level.grey)
    ridge[_eyes_and_brows(ridge.shape, level.geometry, distance) > 0] = -1.0
    grid = _grid_outlines(RIM_EXPONENTS, RIM_HALF_WIDTHS, RIM_HALF_HEIGHTS, RIM_OFFSETS_X, RIM_OFFSETS_Y)
    coarse = _best_rim(ridge, *grid)
    n, a, b, dx, dy = (float(value) for value in coarse)
    steps = np.arange(-RIM_REFINE_REACH, RIM_REFINE_REACH + 1e-6, RIM_REFINE_STEP)
    shapes = _shape_grid((n,), a + steps, b + steps, dx + steps, dy + steps)
    fine = _best_rim(ridge, shapes, _rim_outlines(shapes))
    right, left = _rim_outlines(fine[None, :])
    outlines = [right[0], left[0]]
    rims = np.zeros(ridge.shape, dtype=np.uint8)
    thickness = max(2, int(round(search.rim_thickness * distance)))
    cv2.polylines(rims, [np.rint(outline).astype(np.int32) for outline in outlines], True, 255, thickness)
    grow = max(1, int(round(RIM_ZONE_SHARE * distance)))
    zone = cv2.dilate(rims, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    # Inside the lenses only the rim's own width: shadows under the eyes are not frame.
    lenses = np.zeros(ridge.shape, dtype=np.uint8)
    cv2.fillPoly(lenses, [np.rint(outline).astype(np.int32) for outline in outlines], 255)
    zone[cv2.erode(lenses, np.ones((thickness + 1, thickness + 1), np.uint8)) > 0] = 0
    reach = search.arm_reach * distance
    for outline, side in zip(outlines, (-1.0, 1.0)):
        outer = float(outline[:, 0].min() if side < 0 else outline[:, 0].max())
        top, middle = float(outline[:, 1].min()), float(outline[:, 1].mean())
        x0, x1 = sorted((outer, outer + side * reach))
        bottom = middle + search.arm_drop * distance
        cv2.rectangle(zone, (int(x0), int(top - grow)), (int(np.ceil(x1)), int(np.ceil(bottom))), 255, -1)
    return rims, zone


def _shape_grid(*axes: Sequence[float]) -> NDArray[np.float32]:
    """Every combination of (exponent, half width, half height, offset x, offset y), one per row."""
    return np.stack(np.meshgrid(*[np.asarray(axis, dtype=np.float32) for axis in axes], indexing="ij"), -1).reshape(
        -1, len(axes)
    )


@functools.cache
def _grid_outlines(
    *axes: tuple[float, ...],
) -> tuple[NDArray[np.float32], tuple[NDArray[np.float32], NDArray[np.float32]]]:
    """A fixed shape grid and its rims' outlines (_rim_outlines), computed once: read-only arrays."""
    shapes = _shape_grid(*axes)
    outlines = _rim_outlines(shapes)
    for array in (shapes, *outlines):
        array.setflags(write=False)
    return shapes, outlines


def _best_rim(
    ridge: NDArray[np.float32],
    shapes: NDArray[np.float32],
    outlines: tuple[NDArray[np.float32], NDArray[np.float32]],
) -> NDArray[np.float32]:
    """The shape whose mirrored pair of rims (`outlines`, from _rim_outlines) most often lies on a ridge
    (ties: the stronger ridge)."""
    right, left = outlines
    map_x = np.concatenate([right[..., 0], left[..., 0]], axis=1)
    map_y = np.concatenate([right[..., 1], left[..., 1]], axis=1)
    values = cv2.remap(ridge, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=-1.0)
    valid = values >= 0.0  # off the image or on the eyes and brows: not counted
    coverage = (values >= RIM_RIDGE_LEVEL).sum(axis=1) / np.maximum(valid.sum(axis=1), 1)
    strength = np.clip(values, 0.0, 3.0 * RIM_RIDGE_LEVEL).mean(axis=1)  # invalid points are negative: 0
    return shapes[int(np.argmax(coverage + 1e-3 * strength))]


def _rim_outlines(shapes: NDArray[np.float32]) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """The right and left rims of each shape: S x RIM_SAMPLES x 2 points each, in levelled pixels.

    The right eye's rim moves away from the nose by the offset, the left's mirrors it.
    """
    distance = LEVEL_EYE_DISTANCE
    x, y = _rim_points(shapes, distance)
    centre_y = LEVEL_EYES_AT[1] + shapes[:, 4:5] * distance
    offset_x = shapes[:, 3:4] * distance
    right_x, left_x = LEVEL_EYES_AT[0] - distance / 2.0, LEVEL_EYES_AT[0] + distance / 2.0
    right = np.stack([right_x - offset_x + x, centre_y + y], axis=-1).astype(np.float32)
    left = np.stack([left_x + offset_x - x, centre_y + y], axis=-1).astype(np.float32)
    return right, left


def _rim_points(shapes: NDArray[np.float32], distance: float) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """RIM_SAMPLES points on each rounded rectangle (columns n, a, b, ...), centred on the origin."""
    angle = np.linspace(0.0, 2.0 * np.pi, RIM_SAMPLES, endpoint=False, dtype=np.float32)
    power = 2.0 / shapes[:, 0:1]
    cos, sin = np.cos(angle)[None, :], np.sin(angle)[None, :]
    x = shapes[:, 1:2] * distance * np.sign(cos) * np.abs(cos) ** power
    y = shapes[:, 2:3] * distance * np.sign(sin) * np.abs(sin) ** power
    return x.astype(np.float32), y.astype(np.float32)


def _dark_ridges(grey: NDArray[np.float32]) -> NDArray[np.float32]:
    """How strongly each pixel lies on a thin dark line: the larger Hessian eigenvalue, scale-normalised."""
    ridge = np.zeros_like(grey)
    for sigma in RIM_RIDGE_SIGMAS:
        smooth = cv2.GaussianBlur(grey, (0, 0), sigma)
        xx = cv2.Sobel(smooth, cv2.CV_32F, 2, 0, ksize=3)
        yy = cv2.Sobel(smooth, cv2.CV_32F, 0, 2, ksize=3)
        xy = cv2.Sobel(smooth, cv2.CV_32F, 1, 1, ksize=3)
        largest = (xx + yy) / 2.0 + np.sqrt(((xx - yy) / 2.0) ** 2 + xy**2)
        np.maximum(ridge, np.maximum(largest, 0.0) * sigma**2, out=ridge)
    return cv2.GaussianBlur(ridge, (0, 0), RIM_RIDGE_SPREAD)


def _eyes_and_brows(
    shape_hw: tuple[int, ...], geometry: EyeGeometry, distance: float, *, brows: bool = True
) -> NDArray[np.uint8]:
    """The eyes (ellipses) and, unless told not to, the brows (thick lines), 0/255: dark, but not frame."""
    excluded = np.zeros(shape_hw[:2], dtype=np.uint8)
    angle = float(np.degrees(np.arctan2(*(geometry.left_outer - geometry.right_outer)[::-1])))
    for outer, inner in ((geometry.right_outer, geometry.right_inner), (geometry.left_outer, geometry.left_inner)):
        _ellipse(excluded, (outer + inner) / 2.0, (0.27 * distance, 0.13 * distance), angle)
    if brows:
        brow_width = max(2, int(round(BROW_WIDTH_SHARE * distance)))
        for brow in geometry.brows:
            cv2.polylines(excluded, [np.rint(brow).astype(np.int32)], False, 255, brow_width)
    return excluded


def _frame_lines(
    image: RGB, geometry: EyeGeometry, rims: tuple[NDArray[np.uint8], NDArray[np.uint8]] | None,
    band_half_width: float,
    shade_below_eyes: float = 0.0,
) -> NDArray[np.uint8]:
    """Frame pixels of the reduced crop, 0/255: dark lines (black-hat, Otsu) in the rims' zone, and the
    rims themselves, outside the eyes and brows; lines are looked for within `band_half_width` eye
    distances of the eyes' middle. With `shade_below_eyes`, dark regions below the eyes at least that
    many eye distances wide (the shade under a lens or beside the nose) are left out."""
    height, width = image.shape[:2]
    distance = geometry.eye_distance
    band = np.zeros((height, width), dtype=np.uint8)
    centre = (geometry.right_outer + geometry.left_outer) / 2.0
    angle = float(np.degrees(np.arctan2(*(geometry.left_outer - geometry.right_outer)[::-1])))
    axes = (band_half_width * distance, FRAME_BAND_HALF_HEIGHT * distance)
    _ellipse(band, centre + np.array([0.0, 0.08 * distance]), axes, angle)
    excluded = _eyes_and_brows((height, width), geometry, distance)
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
    if rims is None:
        found[excluded > 0] = 0
        return found * 255
    # Near the rims, dark lines are frame even on the brows (a thick top bar); only the eyes stay out.
    ring, zone = rims
    near = max(1, int(round(RIM_BAR_SHARE * distance)))
    bar = cv2.dilate(ring, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * near + 1, 2 * near + 1)))
    eyes = _eyes_and_brows((height, width), geometry, distance, brows=False)
    lines_near = (found > 0) & (((zone > 0) & (excluded == 0)) | (bar > 0))
    if shade_below_eyes > 0:
        lines_near &= ~_shade_below_eyes(found, geometry, shade_below_eyes)
    return (((lines_near | (ring > 0)) & (eyes == 0)) * 255).astype(np.uint8)


def _shade_below_eyes(found: NDArray[np.uint8], geometry: EyeGeometry, width_share: float) -> NDArray[np.bool_]:
    """The parts of `found` below the eyes' line that an opening `width_share` eye distances wide keeps
    (regions at least that wide, grown back by the same amount): shade, where a frame's line is thinner."""
    size = max(3, int(round(width_share * geometry.eye_distance)) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    wide = cv2.dilate(cv2.morphologyEx(found, cv2.MORPH_OPEN, kernel), kernel) > 0
    return wide & geometry.below_eyes(found.shape)


def _upsample_mask(mask: NDArray[np.uint8], box: tuple[int, int]) -> FloatMask:
    if mask.shape != box:
        mask = cv2.resize(mask, (box[1], box[0]), interpolation=cv2.INTER_LINEAR)
    return (mask > 127).astype(np.float32)


def _ellipse(mask: NDArray[np.uint8], centre: NDArray[np.float32], axes: tuple[float, float], angle: float) -> None:
    cv2.ellipse(
        mask,
        _pixel(centre[0], centre[1]),
        (max(1, int(round(axes[0]))), max(1, int(round(axes[1])))),
        angle,
        0,
        360,
        255,
        -1,
    )


def _level_face(image: RGB, geometry: EyeGeometry) -> LevelFace | None:
    """The face levelled (None when the eyes are under 8 px apart); its grey is not blurred."""
    distance = geometry.eye_distance
    if distance < 8.0:
        return None
    centre_r = (geometry.right_outer + geometry.right_inner) / 2.0
    centre_l = (geometry.left_outer + geometry.left_inner) / 2.0
    angle = float(np.degrees(np.arctan2(centre_l[1] - centre_r[1], centre_l[0] - centre_r[0])))
    scale = LEVEL_EYE_DISTANCE / distance
    middle = (centre_r + centre_l) / 2.0
    matrix = cv2.getRotationMatrix2D((float(middle[0]), float(middle[1])), angle, scale)
    matrix[:, 2] += np.array(LEVEL_EYES_AT) - middle
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    level = cv2.warpAffine(grey, matrix, LEVEL_SIZE, flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
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
    return LevelFace(level, moved, matrix)


def _row_coverage(strong: NDArray[np.bool_]) -> float:
    """The largest share of columns that are strong somewhere in one band of 3 rows."""
    if len(strong) > 2:
        strong = strong[:-2] | strong[1:-1] | strong[2:]
    return float(strong.mean(axis=1).max()) if strong.size else 0.0
