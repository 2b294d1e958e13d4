"""Faces changed in code for the glasses and turned-head checks, and the labelled glasses check set.

Every variant is drawn from a face's own 478-point mesh, so it lands on the brows, eyes and forehead of
that face: darker brows, a dark fringe down to the brows, deep-set eye shadows, a grimace (squint and
creases), and the head turned in depth (`turn_head`: the mesh rotated about a vertical axis and the
photo's texture rendered onto it, near triangles over far ones).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import cv2
import numpy as np
from numpy.typing import NDArray

from app.bench.quality.pool_cases import draw_frames
from pipeline.mesh_topology import FOREHEAD, LEFT_BROW, LEFT_EYE, RIGHT_BROW, RIGHT_EYE

RGB = NDArray[np.uint8]
Mesh = NDArray[np.float32]

# The upper contour of each brow (MediaPipe), image left to right for a frontal face.
RIGHT_BROW_TOP: Final = (70, 63, 105, 66, 107)
LEFT_BROW_TOP: Final = (336, 296, 334, 293, 300)
RIGHT_BROW_LOW: Final = (46, 53, 52, 65, 55)
LEFT_BROW_LOW: Final = (285, 295, 282, 283, 276)
GLASSES_PORTRAITS: Final = ("glasses_man", "grace_hopper")
BARE_PORTRAITS: Final = ("bearded_man", "smiling_man", "blonde_woman", "talking_woman", "astronaut", "tom_hanks")
FACE_RECOGNITION_IMAGES: Final = ("biden.jpg", "obama.jpg", "obama2.jpg", "obama3.jpg")


def eye_distance(mesh: Mesh) -> float:
    xy = mesh[:, :2]
    return float(np.hypot(*(xy[list(LEFT_EYE)].mean(axis=0) - xy[list(RIGHT_EYE)].mean(axis=0))))


def _soft(shape_hw: tuple[int, ...], draw: Callable[[NDArray[np.uint8]], None], blur: float) -> NDArray[np.float32]:
    mask = np.zeros(shape_hw[:2], np.uint8)
    draw(mask)
    return cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), max(0.5, blur))


def _darken(image: RGB, mask: NDArray[np.float32], factor: float, colour: tuple[int, int, int] | None = None) -> RGB:
    out = image.astype(np.float32)
    target = out * factor if colour is None else np.broadcast_to(np.array(colour, np.float32), out.shape)
    out = out + (target - out) * mask[..., None]
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def dark_brows(image: RGB, mesh: Mesh) -> RGB:
    """Brows drawn thick and dark (bushy brows)."""
    distance = eye_distance(mesh)
    xy = mesh[:, :2]

    def draw(mask: NDArray[np.uint8]) -> None:
        for ring in (RIGHT_BROW, LEFT_BROW):
            cv2.fillPoly(mask, [np.rint(xy[list(ring)]).astype(np.int32)], 255)
            cv2.polylines(mask, [np.rint(xy[list(ring)]).astype(np.int32)], True, 255, max(2, int(0.09 * distance)))

    return _darken(image, _soft(image.shape, draw, 0.03 * distance), 0.3)


def fringe(image: RGB, mesh: Mesh) -> RGB:
    """A dark fringe of hair strands from the forehead's top down to the brows, with an uneven lower edge."""
    distance = eye_distance(mesh)
    xy = mesh[:, :2]
    height, width = image.shape[:2]
    brows = np.concatenate([xy[list(RIGHT_BROW_TOP)], xy[list(LEFT_BROW_TOP)]])
    brows = brows[np.argsort(brows[:, 0])]
    rng = np.random.default_rng(7)
    x0, x1 = brows[0, 0] - 0.45 * distance, brows[-1, 0] + 0.45 * distance
    cols = np.arange(width, dtype=np.float32)
    strands = cv2.GaussianBlur(rng.uniform(-1, 1, (1, width)).astype(np.float32), (0, 0), max(1.0, 0.02 * distance))[0]
    tips = cv2.GaussianBlur(rng.uniform(-1, 1, (1, width)).astype(np.float32), (0, 0), max(1.0, 0.04 * distance))[0]
    edge = np.interp(cols, brows[:, 0], brows[:, 1]) + (0.02 + 0.5 * tips) * distance * 0.25
    top = float(xy[FOREHEAD, 1] - 0.8 * distance)
    rows = np.arange(height, dtype=np.float32)[:, None]
    inside = (rows >= top) & (rows <= edge[None, :]) & (cols[None, :] >= x0) & (cols[None, :] <= x1)
    mask = cv2.GaussianBlur(inside.astype(np.float32), (0, 0), max(0.7, 0.012 * distance))
    shade = 1.0 + 0.35 * strands[None, :] + 0.1 * np.clip((rows - top) / max(1.0, float(edge.mean()) - top), 0, 1)
    hair = np.array((40, 30, 24), np.float32)[None, None, :] * shade[..., None]
    out = image.astype(np.float32)
    out = out + (hair - out) * mask[..., None]
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def eye_shadows(image: RGB, mesh: Mesh) -> RGB:
    """Deep-set eyes: the sockets (lids up to the brows, and below the eyes) in shadow."""
    distance = eye_distance(mesh)
    xy = mesh[:, :2]

    def draw(mask: NDArray[np.uint8]) -> None:
        for ring in (RIGHT_EYE, LEFT_EYE):
            centre = xy[list(ring)].mean(axis=0)
            axes = (int(0.36 * distance), int(0.22 * distance))
            cv2.ellipse(mask, (int(centre[0]), int(centre[1] - 0.05 * distance)), axes, 0, 0, 360, 255, -1)

    return _darken(image, _soft(image.shape, draw, 0.08 * distance), 0.4)


def grimace(image: RGB, mesh: Mesh) -> RGB:
    """A squint: the brows pulled down onto narrowed eyes, creases across the bridge and at the eye corners."""
    distance = eye_distance(mesh)
    xy = mesh[:, :2]
    height, width = image.shape[:2]
    eyes = xy[list(RIGHT_EYE + LEFT_EYE)]
    eye_y = float(eyes[:, 1].mean())
    brow_y = float(xy[list(RIGHT_BROW + LEFT_BROW)][:, 1].mean())
    # Vertical squeeze of the band between the brows and the lower lids towards the eye line.
    rows = np.arange(height, dtype=np.float32)[:, None]
    cols = np.arange(width, dtype=np.float32)[None, :]
    x0, x1 = float(eyes[:, 0].min() - 0.4 * distance), float(eyes[:, 0].max() + 0.4 * distance)
    across = np.clip(np.minimum(cols - x0, x1 - cols) / (0.3 * distance), 0.0, 1.0)
    reach = 1.6 * (eye_y - brow_y)
    along = np.clip(1.0 - np.abs(rows - eye_y) / reach, 0.0, 1.0)
    squeeze = 0.35 * across * np.sin(np.pi * along) ** 2
    map_y = (rows + (rows - eye_y) * squeeze).astype(np.float32)
    map_x = np.broadcast_to(cols, (height, width)).astype(np.float32)
    out = cv2.remap(image, map_x, np.ascontiguousarray(map_y), cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    bridge = (xy[168] + xy[6]) / 2.0

    def draw(mask: NDArray[np.uint8]) -> None:
        thickness = max(1, int(0.025 * distance))
        for dy in (-0.05, 0.05):
            y = int(bridge[1] + dy * distance)
            cv2.line(mask, (int(bridge[0] - 0.16 * distance), y), (int(bridge[0] + 0.16 * distance), y), 255, thickness)
        for ring, side in ((RIGHT_EYE, -1), (LEFT_EYE, 1)):
            corner = xy[list(ring)][np.argmax(side * xy[list(ring)][:, 0])]
            for angle in (-0.35, 0.0, 0.35):
                end = corner + 0.22 * distance * np.array([side * np.cos(angle), np.sin(angle)])
                start = corner + 0.06 * distance * np.array([side, 0.0])
                cv2.line(mask, tuple(int(v) for v in start), tuple(int(v) for v in end), 255, thickness)

    return _darken(out, 0.7 * _soft(image.shape, draw, 0.01 * distance), 0.55)


def faint_frames(image: RGB, mesh: Mesh, colour: tuple[int, int, int] = (120, 118, 115)) -> RGB:
    """Thin metal frames in a light grey: two oval rims, a bridge and the temple arms, 0.022 eye distances
    thick (the pool's drawn frames, round the mesh's eyes). On light skin their bridge is faint."""
    xy = mesh[:, :2]
    return draw_frames(image, xy[list(RIGHT_EYE)].mean(axis=0), xy[list(LEFT_EYE)].mean(axis=0), colour=colour)


def turn_head(image: RGB, mesh: Mesh, triangles: NDArray[np.int32], degrees: float) -> tuple[RGB, float]:
    """The face turned `degrees` about a vertical axis (positive: the nose to the image right).

    The mesh (x, y, z in pixels) is rotated in depth and the photo's texture is rendered onto the moved
    triangles, near over far; where the face moved away from, the photo is filled from around the face.
    Returns the new photo and the share of the face oval whose texture came from a squashed triangle
    (a check that the source of the render was visible).
    """
    points = mesh[:468].astype(np.float64)
    centre = points.mean(axis=0)
    theta = np.radians(degrees)
    rel = points - centre
    moved = rel.copy()
    moved[:, 0] = rel[:, 0] * np.cos(theta) - rel[:, 2] * np.sin(theta)
    moved[:, 2] = rel[:, 0] * np.sin(theta) + rel[:, 2] * np.cos(theta)
    moved += centre
    height, width = image.shape[:2]
    ids = np.full((height, width), -1, np.int32)
    corners = np.rint(moved[:, :2][triangles]).astype(np.int32)
    for index in np.argsort(-moved[triangles, 2].mean(axis=1), kind="stable"):
        cv2.fillConvexPoly(ids, corners[index], int(index))
    ys, xs = np.nonzero(ids >= 0)
    chosen = ids[ys, xs]
    dst = moved[:, :2][triangles][chosen]  # N x 3 x 2
    src = points[:, :2][triangles][chosen]
    weights = _barycentric_points(np.stack([xs, ys], axis=1).astype(np.float64), dst)
    mapped = (weights[..., None] * src).sum(axis=1).astype(np.float32)
    # The displacement inside the face, spread smoothly outwards and fading: hair and background follow
    # the head a little, as in a liquify, and nothing is left as a hole.
    known = (ids >= 0).astype(np.float32)
    shift = np.zeros((height, width, 2), np.float32)
    shift[ys, xs] = mapped - np.stack([xs, ys], axis=1)
    size = float(np.ptp(points[:, 1]))
    sigma = 0.25 * size
    weight = cv2.GaussianBlur(known, (0, 0), sigma)
    spread = cv2.GaussianBlur(shift * known[..., None], (0, 0), sigma) / np.maximum(weight, 1e-6)[..., None]
    fade = np.clip(weight / 0.15, 0.0, 1.0)[..., None]
    field = np.where(known[..., None] > 0, shift, spread * fade)
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    out = cv2.remap(image, grid_x + field[..., 0], grid_y + field[..., 1], cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REPLICATE)
    src_area = np.abs(_areas(points[:, :2][triangles]))
    dst_area = np.abs(_areas(moved[:, :2][triangles]))
    squashed = (src_area < 0.4 * dst_area)[chosen].mean() if len(chosen) else 0.0
    return out, float(squashed)


def _areas(corners: NDArray[np.float64]) -> NDArray[np.float64]:
    a, b, c = corners[:, 0], corners[:, 1], corners[:, 2]
    return 0.5 * ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))


def _barycentric_points(points: NDArray[np.float64], corners: NDArray[np.float64]) -> NDArray[np.float64]:
    a, b, c = corners[:, 0], corners[:, 1], corners[:, 2]
    v0, v1, v2 = b - a, c - a, points - a
    den = v0[:, 0] * v1[:, 1] - v1[:, 0] * v0[:, 1]
    den = np.where(np.abs(den) < 1e-9, 1e-9, den)
    w1 = (v2[:, 0] * v1[:, 1] - v1[:, 0] * v2[:, 1]) / den
    w2 = (v0[:, 0] * v2[:, 1] - v2[:, 0] * v0[:, 1]) / den
    weights = np.clip(np.stack([1.0 - w1 - w2, w1, w2], axis=1), 0.0, 1.0)
    return weights / np.maximum(weights.sum(axis=1, keepdims=True), 1e-9)


# -- the labelled glasses check set -------------------------------------------------------------

VARIANTS: Final[dict[str, Callable[[RGB, Mesh], RGB]]] = {
    "brows": dark_brows,
    "fringe": fringe,
    "shadows": eye_shadows,
    "grimace": grimace,
}


@dataclass(frozen=True)
class GlassesCase:
    name: str
    image: RGB
    glasses: bool  # the label: the person wears glasses
    turned: bool = False  # head turned 40-50 deg in depth


def face_recognition_dir() -> Path:
    import sys

    return Path(sys.prefix) / "share" / "coswap" / "face_recognition_test_images"


def glasses_check_set(detect_mesh: Callable[[RGB], list[Mesh]], triangles: NDArray[np.int32]) -> list[GlassesCase]:
    """Package photos (two glasses wearers, the others bare; t1.jpg's six faces and the face_recognition
    test images, all bare) and variants of each made in code (brows, fringe, shadows, grimace, turned
    45 deg). `detect_mesh` gives the meshes of an image's faces, left to right."""
    from pipeline.intake import read_image_file
    from app.bench.sample_portraits import load_portrait
    from pipeline.samples import sample_paths

    bases: list[tuple[str, RGB, bool]] = [(key, load_portrait(key), True) for key in GLASSES_PORTRAITS]
    bases += [(key, load_portrait(key), False) for key in BARE_PORTRAITS]
    folder = face_recognition_dir()
    bases += [(name.removesuffix(".jpg"), read_image_file(str(folder / name)).array, False)
              for name in FACE_RECOGNITION_IMAGES if (folder / name).is_file()]
    cases: list[GlassesCase] = []
    t1 = read_image_file(str(sample_paths().t1)).array
    for index, mesh in enumerate(detect_mesh(t1)):
        crop, local = _face_crop(t1, mesh)
        bases.append((f"t1_face{index}", crop, False))
    for name, image, glasses in bases:
        meshes = detect_mesh(image)
        if not meshes:
            continue
        mesh = meshes[0]
        cases.append(GlassesCase(name, image, glasses))
        for variant, change in VARIANTS.items():
            if glasses and variant != "shadows":
                continue
            cases.append(GlassesCase(f"{name}/{variant}", change(image, mesh), glasses))
        if eye_distance(mesh) >= 40:
            for degrees in (-45.0, 45.0):
                turned, _ = turn_head(image, mesh, triangles, degrees)
                cases.append(GlassesCase(f"{name}/turned{degrees:+.0f}", turned, glasses, turned=True))
    return cases


def _face_crop(image: RGB, mesh: Mesh, margin: float = 0.8) -> tuple[RGB, Mesh]:
    """A crop around one face (its mesh box grown by `margin` of its size each way)."""
    x0, y0 = mesh[:, 0].min(), mesh[:, 1].min()
    x1, y1 = mesh[:, 0].max(), mesh[:, 1].max()
    size = max(x1 - x0, y1 - y0)
    left, top = int(max(0, x0 - margin * size)), int(max(0, y0 - margin * size))
    right = int(min(image.shape[1], x1 + margin * size))
    bottom = int(min(image.shape[0], y1 + margin * size))
    local = mesh.copy()
    local[:, 0] -= left
    local[:, 1] -= top
    return np.ascontiguousarray(image[top:bottom, left:right]), local
