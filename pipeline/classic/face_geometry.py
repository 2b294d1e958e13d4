"""Measurements of a face mesh that every stage of the classic engine uses."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import cv2
import numpy as np
from numpy.typing import NDArray

from pipeline.classic.mesh import Mesh
from pipeline.mesh_topology import FACE_OVAL, LEFT_BROW, LEFT_EYE, RIGHT_BROW, RIGHT_EYE


def face_size(mesh: Mesh) -> float:
    """Geometric mean of the face oval's width and height, in pixels."""
    oval = mesh[list(FACE_OVAL), :2]
    width, height = np.ptp(oval, axis=0)
    return float(np.sqrt(max(0.0, float(width) * float(height))))


def eye_distance(mesh_xy: NDArray[np.float32]) -> float:
    return float(np.hypot(*(mesh_xy[list(LEFT_EYE)].mean(axis=0) - mesh_xy[list(RIGHT_EYE)].mean(axis=0))))


def signed_areas(corners: NDArray[np.float64]) -> NDArray[np.float64]:
    """Signed area of each triangle (T x 3 x 2 corners)."""
    a, b, c = corners[:, 0], corners[:, 1], corners[:, 2]
    return 0.5 * ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))


def pixels(points: NDArray[np.float32]) -> NDArray[np.int32]:
    """Points rounded to the pixel grid, as OpenCV's drawing functions take them."""
    return np.rint(points).astype(np.int32)


def face_down(mesh_xy: NDArray[np.float32]) -> NDArray[np.float32]:
    """Unit vector from the brows' middle down the face (perpendicular to the line between the brows)."""
    across = mesh_xy[list(LEFT_BROW)].mean(axis=0) - mesh_xy[list(RIGHT_BROW)].mean(axis=0)
    down = np.array([-across[1], across[0]], dtype=np.float32)
    return down / max(float(np.hypot(*down)), 1e-6)


def along_face(shape_hw: tuple[int, ...], down: NDArray[np.float32]) -> NDArray[np.float32]:
    """Each pixel's place along the face's vertical `down` (a tilted head tilts the lines of equal place)."""
    rows, cols = np.indices(shape_hw[:2], dtype=np.float32)
    return cols * down[0] + rows * down[1]


def main_axis(points: NDArray[np.float32]) -> tuple[float, float, NDArray[np.float32]]:
    """(extent along the main axis, extent across it, that axis as a unit vector) of pixel positions."""
    centred = points - points.mean(axis=0)
    _, vectors = np.linalg.eigh(centred.T @ centred)
    axis = vectors[:, -1].astype(np.float32)
    along, across = centred @ axis, centred @ vectors[:, 0].astype(np.float32)
    return float(np.ptp(along)) + 1.0, float(np.ptp(across)) + 1.0, axis


class LinePart(NamedTuple):
    """One connected part of a line mask, measured along its main axis."""

    rows: NDArray[np.intp]
    cols: NDArray[np.intp]
    along: float  # extent along the main axis, pixels
    across: float  # extent across it
    axis: NDArray[np.float32]  # unit vector (either sign)


def long_parts(lines: NDArray[np.bool_], min_length: float) -> Iterator[LinePart]:
    """The 8-connected parts of `lines` at least `min_length` pixels long along their main axis."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(lines.astype(np.uint8), connectivity=8)
    for label in range(1, count):
        left, top, width, height = (int(value) for value in stats[label, :4])
        if np.hypot(width, height) < min_length:
            continue  # too short along any axis: most dark specks end here, unmeasured
        rows, cols = np.nonzero(labels[top : top + height, left : left + width] == label)
        rows, cols = rows + top, cols + left
        along, across, axis = main_axis(np.column_stack([cols, rows]).astype(np.float32))
        if along >= min_length:
            yield LinePart(rows, cols, along, across, axis)
