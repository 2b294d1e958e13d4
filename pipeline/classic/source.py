"""The source stage: the source photo prepared once per couple, then reused for every template.

The photo is cropped around its mesh, a heavy JPEG's blocks are removed, clear glasses' frames are
inpainted out (frames pasted onto another face would end at its temples), sunglasses are marked as an
occluder (the target's own eyes show there), an object held over bare skin and hair strands over the
forehead are filled with the source's own skin, a lock of hair past one eye from the face's other side,
and what the later stages need to know about the source is measured once: its yaw, how open its mouth
is, how far up its forehead is bare skin, and what still covers it (a hand, an object over the eyes or
lips, dark hair or deep shade at the face's sides).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import cv2
import numpy as np
from numpy.typing import NDArray

from pipeline.classic.deblock import BLOCK as JPEG_BLOCK
from pipeline.classic.deblock import deblock
from pipeline.classic.face_geometry import eye_distance, face_size, pixels
from pipeline.classic.glasses import glasses_kind, remove_frames
from pipeline.classic.hands import Hand, hand_mask
from pipeline.classic.inpaint import smooth_fill
from pipeline.classic.occlusion import meeting_skin_at_an_edge
from pipeline.classic.mesh import CANONICAL_POINTS, CanonicalFace, Mesh, mirror_mesh, mouth_openness
from pipeline.classic.mirror_fill import mirror_fill
from pipeline.classic.regions import dark_at_edge, face_parts, source_occluders, sunglasses
from pipeline.classic.settings import ClassicSettings, SourceSettings
from pipeline.classic.strands import hair_locks, hair_strands
from pipeline.mesh_topology import FACE_OVAL, FOREHEAD, LEFT_BROW, LEFT_EYE, RIGHT_BROW, RIGHT_CHEEK, RIGHT_EYE
from pipeline.pose import mesh_yaw


@dataclass(frozen=True)
class PreparedSource:
    """A crop of the source photo around its face, the mesh in crop pixels, and its mirror image."""

    image: NDArray[np.uint8]
    mesh: Mesh
    mirrored_image: NDArray[np.uint8] = field(repr=False)
    mirrored_mesh: Mesh = field(repr=False)
    yaw: float
    mouth_openness: float  # inner-lip gap / mouth width
    had_glasses: bool = False  # frames were found and inpainted out of `image`
    forehead_skin: float = 1.0  # share of the forehead (brows to the mesh's top) that is bare skin
    occluder: NDArray[np.float32] | None = field(default=None, repr=False)  # 0..1: not the face (an object, a hand)

    @property
    def face_size(self) -> float:
        return face_size(self.mesh)


def prepare_source(
    image: NDArray[np.uint8],
    mesh: Mesh,
    canonical: CanonicalFace,
    settings: ClassicSettings | None = None,
    *,
    hands: Sequence[Hand] = (),
) -> PreparedSource:
    """Crop the source photo around its mesh so later warps touch only what they need. `hands` (in the
    photo's pixels) are occluders: never pasted, the target's own face shows there."""
    settings = settings or ClassicSettings()
    size = face_size(mesh)
    margin = settings.source.crop_margin * size
    height, width = image.shape[:2]
    # The corner stays on the photo's 8 x 8 grid, so a heavy JPEG's blocks can be found in the crop.
    x0 = int(max(0, np.floor(mesh[:, 0].min() - margin))) // JPEG_BLOCK * JPEG_BLOCK
    y0 = int(max(0, np.floor(mesh[:, 1].min() - margin))) // JPEG_BLOCK * JPEG_BLOCK
    x1 = int(min(width, np.ceil(mesh[:, 0].max() + margin)))
    y1 = int(min(height, np.ceil(mesh[:, 1].max() + margin)))
    crop = np.ascontiguousarray(image[y0:y1, x0:x1])
    local = mesh.copy()
    local[:, 0] -= x0
    local[:, 1] -= y0
    crop = deblock(crop)  # a heavy JPEG's block grid would show as tiles on the target's skin
    # Frames found: sunglasses (dark lenses too: deep eye shadows have no frames) are an occluder, and the
    # target's own eyes show there; clear glasses' frames are inpainted out.
    kind = glasses_kind(crop, local)
    glasses = kind != "none"
    dark_glasses = sunglasses(crop, local, canonical, settings.regions) if glasses else np.zeros(crop.shape[:2], np.float32)
    if glasses and not dark_glasses.any():
        crop = remove_frames(crop, local, rimless=kind == "rimless")
    occluder = np.maximum(source_occluders(crop, local, canonical, settings.regions), dark_glasses)
    if hands:
        occluder = np.maximum(occluder, hand_mask(crop.shape, list(hands), origin=(x0, y0)))
    crop, occluder = fill_skin_occluders(crop, local, canonical, occluder, settings)
    crop, occluder = fill_hair_strands(crop, local, canonical, occluder, settings)
    # Dark hair the strand fill left (a wide lock, strands it does not follow) stays out, as deep shade does.
    occluder = np.maximum(occluder, dark_at_edge(crop, local, canonical, settings.regions))
    return PreparedSource(
        image=crop,
        mesh=local,
        mirrored_image=np.ascontiguousarray(crop[:, ::-1]),
        mirrored_mesh=mirror_mesh(local, crop.shape[1], canonical.mirror),
        yaw=mesh_yaw(local),
        mouth_openness=mouth_openness(local),
        had_glasses=glasses,
        forehead_skin=forehead_skin_share(crop, local, canonical, settings.source),
        occluder=occluder if occluder.any() else None,  # None: no per-face work for an empty mask
    )


def fill_skin_occluders(
    image: NDArray[np.uint8],
    mesh: Mesh,
    canonical: CanonicalFace,
    occluder: NDArray[np.float32],
    settings: ClassicSettings,
) -> tuple[NDArray[np.uint8], NDArray[np.float32]]:
    """The source with its occluders on bare skin (a phone over a cheek) filled from the skin around them,
    and the occluders left to carry over. A filled cheek is the source's own colour and light; carried
    over, the target's own cheek would show as a patch of another skin. Occluders over the eyes, brows or
    lips, or too large to fill, stay occluders: the target's own face shows there."""
    if not (occluder > 0.5).any():
        return image, occluder
    xy = mesh[:CANONICAL_POINTS, :2].astype(np.float32)
    oval, features = _oval_and_features(xy, canonical, image.shape[:2], settings)
    # The margin around the eyes, brows and lips, where the skin model does not look.
    _, margin = face_parts(xy, canonical, image.shape[:2], settings.regions)
    fill = _fillable(image, occluder > 0.5, oval, (oval > 0) & (margin < 0.5), features, settings.source)
    if not fill.any():
        return image, occluder
    size = face_size(mesh)
    grow = max(1, int(round(settings.source.fill_grow_share * size)))
    reach = grow + int(round(settings.regions.exempt_grow_share * eye_distance(xy)))
    grown = cv2.dilate(fill, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1,) * 2))
    # The object goes on into the margin by the features, where the skin model did not look.
    reached = cv2.dilate(fill, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1,) * 2))
    fill = np.where((margin > 0.5) & (features < 0.5), reached, grown).astype(np.uint8) & oval
    scale = min(1.0, settings.source.fill_work_face / max(size, 1.0))
    # Grown from the face's skin only: not from the lips beside a cheek, nor the background beyond the jaw.
    filled = smooth_fill(image, fill > 0, scale, ignored=(features > 0.5) | (oval == 0))
    weight = (cv2.GaussianBlur(fill.astype(np.float32), (0, 0), grow / 2.0) * (1.0 - features))[..., None]
    blended = np.clip(image * (1.0 - weight) + filled * weight + 0.5, 0, 255).astype(np.uint8)
    # Where the object reaches over the features themselves, it stays an occluder.
    over_features = ((fill > 0) & (features > 0.5)).astype(np.float32)
    return blended, np.maximum(occluder * (1.0 - weight[..., 0]), over_features).astype(np.float32)


def fill_hair_strands(
    image: NDArray[np.uint8],
    mesh: Mesh,
    canonical: CanonicalFace,
    occluder: NDArray[np.float32],
    settings: ClassicSettings,
) -> tuple[NDArray[np.uint8], NDArray[np.float32]]:
    """The source with hair strands over its forehead and down its face's sides (see strands.py) filled from
    the skin around them; not where an occluder (fingers) already is, and not grown from the brows, eyes,
    lips or the hair beyond the oval. Where they cross the brows or the eyes, they are filled from what
    lies beside them there. A lock (strands side by side, falling past the eyes) is filled from the face's
    other side instead (mirror_fill.py); where that side is hidden too, or the source is turned, it is added
    to the occluder."""
    xy = mesh[:CANONICAL_POINTS, :2].astype(np.float32)
    oval, features = _oval_and_features(xy, canonical, image.shape[:2], settings)
    strands = hair_strands(image, xy, oval > 0, features > 0.5, settings.source) & (occluder < 0.5)
    if not strands.any():
        return image, occluder
    lock = hair_locks(strands, xy, settings.source) & (oval > 0)
    if lock.any():
        unfilled = lock
        if abs(mesh_yaw(mesh)) < settings.warp.half_fill_yaw:
            clear = (oval > 0) & ~strands & (occluder < 0.5)
            image, unfilled = mirror_fill(image, mesh, canonical, lock, clear)
        occluder = np.maximum(occluder, unfilled.astype(np.float32))
        strands &= ~lock
        if not strands.any():
            return image, occluder
    size = face_size(mesh)
    grow = max(1, int(round(settings.source.strand_grow_share * size)))
    grown = cv2.dilate(strands.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1,) * 2))
    fill = (grown > 0) & (oval > 0) & (features < 0.5)
    scale = min(1.0, settings.source.strand_work_face / max(size, 1.0))
    filled = smooth_fill(image, fill, scale, ignored=(features > 0.5) | (oval == 0))
    over_brows = (grown > 0) & (oval > 0) & (features > 0.5)
    return (smooth_fill(filled, over_brows, scale, ignored=oval == 0) if over_brows.any() else filled), occluder


def _oval_and_features(
    xy: NDArray[np.float32], canonical: CanonicalFace, shape_hw: tuple[int, int], settings: ClassicSettings
) -> tuple[NDArray[np.uint8], NDArray[np.float32]]:
    """The face oval (0/1) and the eyes, brows and lips themselves (0..1, not grown), in crop pixels."""
    oval = np.zeros(shape_hw, dtype=np.uint8)
    cv2.fillPoly(oval, [pixels(xy[list(FACE_OVAL)])], 1)
    _, features = face_parts(xy, canonical, shape_hw, replace(settings.regions, exempt_grow_share=0.0))
    return oval, features


def _fillable(
    image: NDArray[np.uint8],
    covered: NDArray[np.bool_],
    oval: NDArray[np.uint8],
    bare_skin: NDArray[np.bool_],
    features: NDArray[np.float32],
    settings: SourceSettings,
) -> NDArray[np.uint8]:
    """The occluder regions to fill (0/1): small, clear of the features, compact, and meeting the skin at a
    sharp edge (an object, not a highlight or a patch of skin in coloured light)."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(covered.astype(np.uint8), connectivity=8)
    candidates = []
    for label in range(1, count):
        part = labels == label
        area = float(stats[label, cv2.CC_STAT_AREA])
        if (
            area <= settings.fill_max_share * float(oval.sum())
            and float(features[part].sum()) <= settings.fill_feature_overlap * area
            and _solidity(part) >= settings.fill_min_solidity
        ):
            candidates.append(part)
    fill = np.zeros(covered.shape, dtype=np.uint8)
    for part, sharp in zip(candidates, meeting_skin_at_an_edge(image, candidates, bare_skin), strict=True):
        if sharp:
            fill[part] = 1
    return fill


def _solidity(part: NDArray[np.bool_]) -> float:
    """A region's area over its convex hull's: near 1 for a phone, low for a beard's ring or spread fingers."""
    contours, _ = cv2.findContours(part.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    hull_area = cv2.contourArea(cv2.convexHull(np.concatenate(contours)))
    return float(part.sum()) / max(hull_area, 1.0)


def forehead_skin_share(
    image: NDArray[np.uint8], mesh: Mesh, canonical: CanonicalFace, settings: SourceSettings | None = None
) -> float:
    """How far up from the brows the source's forehead stays skin (0..1 of the way to the mesh's top).

    Patches are sampled on three lines from the brows towards the top of the forehead and compared in
    CIELAB with the cheeks; the first patch that is not skin (a fringe, a hat) ends the bare forehead.
    """
    settings = settings or SourceSettings()
    xy = mesh[:, :2].astype(np.float32)
    lab = cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    height, width = image.shape[:2]
    cheeks = np.zeros((height, width), dtype=np.uint8)
    left_cheek = [int(canonical.mirror[index]) for index in RIGHT_CHEEK]
    cv2.fillPoly(cheeks, [pixels(xy[list(RIGHT_CHEEK)]), pixels(xy[left_cheek])], 255)
    if cheeks.sum() == 0:
        return 1.0
    skin = lab[cheeks > 0].mean(axis=0)
    eye_axis = xy[list(LEFT_EYE)].mean(axis=0) - xy[list(RIGHT_EYE)].mean(axis=0)
    eye_distance = float(np.hypot(*eye_axis))
    brows = xy[list(RIGHT_BROW + LEFT_BROW)].mean(axis=0)
    top = xy[FOREHEAD]
    radius = max(1, int(round(settings.forehead_patch_share * eye_distance)))
    start, steps = settings.forehead_start, settings.forehead_steps
    share = 1.0
    for side in (-0.3, 0.0, 0.3):
        offset = eye_axis * side
        for step in range(1, steps + 1):
            t = start + (1.0 - start) * step / steps
            x, y = (brows + offset + (top - brows) * t).round().astype(int)
            patch = lab[max(0, y - radius) : y + radius + 1, max(0, x - radius) : x + radius + 1]
            if patch.size == 0:
                break
            difference = patch.reshape(-1, 3).mean(axis=0) - skin
            weighted_l = settings.forehead_l_weight * difference[0]
            distance = float(np.sqrt(weighted_l**2 + difference[1] ** 2 + difference[2] ** 2))
            if distance > settings.forehead_skin_distance:
                share = min(share, start + (1.0 - start) * (step - 1) / steps)
                break
    return share
