"""Hair strands falling over a source's forehead and down the sides of its face: found, so the source stage
fills them with the skin around them. Pasted, they come out as dark dashes on the target's face, cut off
where the source's face ends.

A strand is a thin line much darker than the skin around it (a black-hat of the lightness, the kernel
`strand_width_share` eye distances wide, deeper than `strand_depth` of the forehead's median lightness),
long (`strand_min_length` eye distances), thin on average (area over length at most
`strand_max_thickness` eye distances), and falling (its main axis within `strand_max_tilt` degrees of the
face's vertical). Forehead wrinkles are shallower and lie across the face; brows are left out. Below the
eyes a line counts only where it comes from above (see _side_strands).
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from pipeline.classic.face_geometry import along_face, eye_distance, face_down, face_size, long_parts
from pipeline.classic.settings import SourceSettings
from pipeline.mesh_topology import LEFT_EYE, RIGHT_EYE, UPPER_LIP_OUTER

STRAND_TURN_MAX = 20.0  # degrees a strand may turn where it goes on below a gap
STRAND_OFFSET_MAX = 0.15  # eye distances it may be offset across its direction there
STRAND_INWARD_MIN = 0.15  # eye distances a strand entering from the oval's edge reaches into the face

Strand = tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float32]]  # rows, columns, axis down the face

MIN_EYE_DISTANCE = 8.0  # pixels: smaller faces are left as they are


def hair_strands(
    image: NDArray[np.uint8],
    xy: NDArray[np.float32],
    oval: NDArray[np.bool_],
    features: NDArray[np.bool_],
    settings: SourceSettings,
) -> NDArray[np.bool_]:
    """The hair strands over the forehead (inside `oval`, above the eyes, outside the `features`) and down
    the face's sides, and where they go on next to and across the brows and the eyes (narrow across the
    face, joined to a strand found beside them; a brow's own hairs are wide), True where they are. They
    are looked for with the face at most `strand_work_face` pixels large, so the cost stays flat."""
    scale = min(1.0, settings.strand_work_face / max(face_size(xy), 1.0))
    if scale >= 1.0:
        return _strands(image, xy, oval, features, settings)
    height, width = image.shape[:2]
    size = (max(1, int(round(width * scale))), max(1, int(round(height * scale))))

    def reduced(mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
        return cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0

    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    found = _strands(small, xy * scale, reduced(oval), reduced(features), settings)
    return cv2.resize(found.astype(np.uint8) * 255, (width, height), interpolation=cv2.INTER_LINEAR) > 127


def _strands(
    image: NDArray[np.uint8],
    xy: NDArray[np.float32],
    oval: NDArray[np.bool_],
    features: NDArray[np.bool_],
    settings: SourceSettings,
) -> NDArray[np.bool_]:
    found = np.zeros(image.shape[:2], dtype=bool)
    eye = eye_distance(xy)
    down = face_down(xy)
    above_eyes = oval & _above_eyes(oval.shape, xy, down)
    forehead = above_eyes & ~features
    if eye < MIN_EYE_DISTANCE or not forehead.any():
        return found
    lightness = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)[..., 0].astype(np.float32)
    size = max(3, int(round(settings.strand_width_share * eye)) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    dark = cv2.morphologyEx(lightness, cv2.MORPH_BLACKHAT, kernel)
    depth = settings.strand_depth * float(np.median(lightness[forehead]))
    lines = dark > depth
    strands = _falling_lines(lines & forehead, eye, down, settings)
    strands += _parted_strands(lines & forehead, strands, eye, down, settings)
    strands += _side_strands(lines & oval & ~features & ~above_eyes, strands, xy, oval, eye, down, settings)
    for ys, xs, _ in strands:
        found[ys, xs] = True
    if not found.any():
        return found
    # Where the strands go on next to and across the brows, only their narrowness across the face tells
    # them from the brows, which are wide; across an eye, the same, joined to a strand found below it.
    across = cv2.morphologyEx(lightness, cv2.MORPH_BLACKHAT, cv2.getStructuringElement(cv2.MORPH_RECT, (size, 1)))
    narrow = across > depth
    found = _joined(found, (narrow & above_eyes) | found, found)
    over_eyes = narrow & features & oval & ~above_eyes
    return _joined(found, over_eyes | found, found & ~above_eyes) if over_eyes.any() else found


def _parted_strands(
    lines: NDArray[np.bool_], found: list[Strand], eye: float, down: NDArray[np.float32], settings: SourceSettings
) -> list[Strand]:
    """Strands side by side that touch where they leave the hair, and so failed as one wide, tilted part:
    the other parts of `lines` a pixel thinner, each strand measured alone, then given its pixel back."""
    rest = lines.copy()
    for ys, xs, _ in found:
        rest[ys, xs] = False
    cross = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    parted = cv2.erode(rest.astype(np.uint8), cross) > 0
    result: list[Strand] = []
    for ys, xs, axis in _falling_lines(parted, eye, down, settings):
        part = np.zeros(lines.shape, dtype=np.uint8)
        part[ys, xs] = 1
        ys, xs = np.nonzero((cv2.dilate(part, cross) > 0) & rest)
        result.append((ys, xs, axis))
    return result


def _above_eyes(shape_hw: tuple[int, ...], xy: NDArray[np.float32], down: NDArray[np.float32]) -> NDArray[np.bool_]:
    """True above the eyes' top, measured along the face's vertical (a tilted head tilts the line)."""
    return along_face(shape_hw, down) < float((xy[list(RIGHT_EYE + LEFT_EYE)] @ down).min())


def _joined(found: NDArray[np.bool_], candidates: NDArray[np.bool_], seeds: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """`found` with the parts of `candidates` connected to a `seeds` pixel."""
    _, labels = cv2.connectedComponents(candidates.astype(np.uint8), connectivity=8)
    kept = np.unique(labels[seeds])
    return found | np.isin(labels, kept[kept > 0])


def _falling_lines(
    lines: NDArray[np.bool_], eye: float, down: NDArray[np.float32], settings: SourceSettings
) -> list[Strand]:
    """The long, thin, near-vertical parts of `lines`: (rows, columns, main axis pointing down the face)."""
    result: list[Strand] = []
    for part in long_parts(lines, settings.strand_min_length * eye):
        cosine = float(part.axis @ down)
        tilt = float(np.degrees(np.arccos(min(1.0, abs(cosine)))))
        if (
            len(part.rows) >= 3
            and len(part.rows) / max(part.along, 1.0) <= settings.strand_max_thickness * eye
            and tilt <= settings.strand_max_tilt
        ):
            result.append((part.rows, part.cols, part.axis if cosine >= 0.0 else -part.axis))
    return result


def _side_strands(
    lines: NDArray[np.bool_],
    above: list[Strand],
    xy: NDArray[np.float32],
    oval: NDArray[np.bool_],
    eye: float,
    down: NDArray[np.float32],
    settings: SourceSettings,
) -> list[Strand]:
    """Strands falling down the sides of the face below the eyes' top. Hair comes from above, so a line
    counts when it enters from the oval's edge above the mouth, or when it goes on, in the same direction,
    from the lower end of a strand found above it (across an eye: up to `strand_gap` eye distances).
    Smile folds, the nose's sides and the lids' lines start inside the face and stay."""
    candidates = _falling_lines(lines, eye, down, settings)
    if not candidates:
        return []
    depth_inside = cv2.distanceTransform(oval.astype(np.uint8), cv2.DIST_L2, 3) / eye
    mouth_level = float(xy[UPPER_LIP_OUTER] @ down)
    taken: list[Strand] = []
    ends = [_lower_end(strand, down) for strand in above]
    waiting = candidates
    while waiting:
        still = []
        for strand in waiting:
            ys, xs, axis = strand
            points = np.column_stack([xs, ys]).astype(np.float32)
            inside = depth_inside[ys, xs]
            # From the edge, and on into the face: the face's own shaded outline stays at the edge.
            enters = bool(np.any((inside <= settings.strand_edge_share) & (points @ down < mouth_level)))
            enters = enters and float(inside.max()) >= STRAND_INWARD_MIN
            top = points[int(np.argmin(points @ down))]
            if enters or any(_goes_on(top, axis, end, end_axis, eye, settings) for end, end_axis in ends):
                taken.append(strand)
                ends.append(_lower_end(strand, down))
            else:
                still.append(strand)
        if len(still) == len(waiting):
            break
        waiting = still
    return taken


def _lower_end(strand: Strand, down: NDArray[np.float32]) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    ys, xs, axis = strand
    points = np.column_stack([xs, ys]).astype(np.float32)
    return points[int(np.argmax(points @ down))], axis


def _goes_on(
    top: NDArray[np.float32],
    axis: NDArray[np.float32],
    end: NDArray[np.float32],
    end_axis: NDArray[np.float32],
    eye: float,
    settings: SourceSettings,
) -> bool:
    """Whether a line whose upper end is `top` continues a strand that ends at `end`: along nearly the same
    direction, that end lies above `top` on its line, at most `strand_gap` eye distances away."""
    if float(axis @ end_axis) < np.cos(np.radians(STRAND_TURN_MAX)):
        return False
    offset = top - end
    along = float(offset @ axis)
    across = abs(float(offset[0] * axis[1] - offset[1] * axis[0]))
    return 0.0 <= along <= settings.strand_gap * eye and across <= STRAND_OFFSET_MAX * eye


def hair_locks(strands: NDArray[np.bool_], xy: NDArray[np.float32], settings: SourceSettings) -> NDArray[np.bool_]:
    """Where found strands lie side by side (a lock of hair, not a stray strand) and fall past the eyes: the
    region they span, carried on along the face's vertical to the strands' ends and closed across a gap
    (an eye) of up to `strand_gap` eye distances. The skin between such strands is hair too, so a fill
    from around them comes out as a smudge."""
    eye = eye_distance(xy)
    if eye < MIN_EYE_DISTANCE or not strands.any():
        return np.zeros(strands.shape, dtype=bool)
    window = max(3, int(round(settings.lock_window_share * eye)) | 1)
    density = cv2.blur(strands.astype(np.float32), (window, window))
    dense = (density >= settings.lock_density).astype(np.uint8)
    if not dense.any():
        return dense > 0
    down = face_down(xy)
    spread = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (window, window))
    region = cv2.dilate(cv2.dilate(dense, spread), _line_kernel(down, window))
    region = cv2.morphologyEx(region, cv2.MORPH_CLOSE, _line_kernel(down, settings.strand_gap * eye))
    # A lock falls past the eyes; a fringe ends at the brows, and is filled from the forehead's skin.
    below_eyes = ~_above_eyes(region.shape, xy, down)
    _, labels = cv2.connectedComponents(region, connectivity=8)
    falling = np.unique(labels[below_eyes & strands & (region > 0)])
    return np.isin(labels, falling[falling > 0])


def _line_kernel(direction: NDArray[np.float32], length: float) -> NDArray[np.uint8]:
    """A one-pixel line `length` long along `direction`, centred, as a structuring element."""
    half = max(1, int(round(length / 2.0)))
    kernel = np.zeros((2 * half + 1, 2 * half + 1), np.uint8)
    step = direction / max(float(np.linalg.norm(direction)), 1e-6) * half
    start = (int(round(half - step[0])), int(round(half - step[1])))
    end = (int(round(half + step[0])), int(round(half + step[1])))
    cv2.line(kernel, start, end, 1, 1)
    return kernel
