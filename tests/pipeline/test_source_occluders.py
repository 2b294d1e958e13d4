"""Occluders over the SOURCE face (an object held to the cheek) are never pasted: the target keeps its
own face there (pipeline.classic.swapper.source_occluders)."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
from numpy.typing import NDArray

from pipeline.classic import ClassicEngine
from pipeline.classic.swapper import prepare_source, source_occluders, swap_into
from pipeline.mesh_topology import NOSE_TIP
from pipeline.face import Assignment, Face, SourceFace

RGB = NDArray[np.uint8]


def _with_phone(image: RGB, face: Face) -> tuple[RGB, NDArray[np.bool_]]:
    """A dark blue phone held over the left cheek (beside the mouth corner)."""
    points = face.landmarks_array()
    assert points is not None and len(points) == 68
    width = float(np.ptp(points[:17, 0]))
    centre = points[54] + np.array((0.12 * width, -0.12 * width))
    box = cv2.boxPoints(((float(centre[0]), float(centre[1])), (0.18 * width, 0.34 * width), 15.0))
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, np.round(box).astype(np.int32), 255)
    out = image.copy()
    out[mask > 0] = (28, 36, 92)
    return out, mask > 0


def test_the_source_occluder_is_found(classic_engine: ClassicEngine, astronaut_image: RGB) -> None:
    face = classic_engine.detect(astronaut_image)[0]
    occluded, phone = _with_phone(astronaut_image, face)
    canonical = classic_engine._loaded().mesher.canonical

    def found_in(image: RGB) -> tuple[NDArray[np.float32], NDArray[np.float32], tuple[slice, slice]]:
        mesh = classic_engine.detect(image)[0].mesh_array()
        assert mesh is not None
        (x0, y0), (x1, y1) = mesh[:, :2].min(axis=0).astype(int) - 30, mesh[:, :2].max(axis=0).astype(int) + 30
        box = (slice(max(0, y0), y1), slice(max(0, x0), x1))  # a crop around the face, as prepare_source makes
        local = mesh.copy()
        local[:, 0] -= box[1].start
        local[:, 1] -= box[0].start
        return source_occluders(np.ascontiguousarray(image[box]), local, canonical), local, box

    found, local, box = found_in(occluded)
    inside = phone[box]
    core = cv2.erode(inside.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0  # the mask's edge is soft
    assert float(found[core].mean()) > 0.85 and float(found[inside].mean()) > 0.6
    oval = np.zeros(inside.shape, np.uint8)
    cv2.fillConvexPoly(oval, cv2.convexHull(np.round(local[:468, :2]).astype(np.int32)), 1)
    assert float(found[(oval > 0) & ~inside].mean()) < 0.03  # the rest of the face is pasted
    clean, _, _ = found_in(astronaut_image)
    assert float(clean.max(initial=0.0)) < 0.5  # a clean face has no occluder


def test_the_target_keeps_its_face_where_the_source_is_covered(
    classic_engine: ClassicEngine, astronaut_image: RGB, t1_image: RGB, classic_t1_faces: list[Face]
) -> None:
    # The image side of the source face left of its nose is taken for an occluder: the result changes
    # on the other side of the target's nose only (before, occluders were pasted like skin).
    canonical = classic_engine._loaded().mesher.canonical
    source_mesh = classic_engine.detect(astronaut_image)[0].mesh_array()
    target = classic_t1_faces[0]  # a woman facing the camera, like the source
    target_mesh = target.mesh_array()
    assert source_mesh is not None and target_mesh is not None
    prepared = prepare_source(astronaut_image, source_mesh, canonical)
    nose_x = int(round(float(prepared.mesh[NOSE_TIP, 0])))
    covered = np.zeros(prepared.image.shape[:2], np.float32)
    covered[:, : nose_x - 8] = 1.0

    def swapped(occluder: NDArray[np.float32] | None) -> NDArray[np.bool_]:
        result = t1_image.copy()
        swap_into(result, target, target_mesh, replace(prepared, occluder=occluder), canonical)
        return np.abs(result.astype(np.int16) - t1_image.astype(np.int16)).max(axis=2) > 6

    whole, half = swapped(None), swapped(covered)
    # Where the covered side lands on the target: the hull of its mesh points well inside it.
    deep = np.nonzero(prepared.mesh[:468, 0] < nose_x - 20)[0]
    landed = np.zeros(half.shape, np.uint8)
    cv2.fillConvexPoly(landed, cv2.convexHull(np.round(target_mesh[deep, :2]).astype(np.int32)), 1)
    assert whole.sum() > 1000 and 0.2 * whole.sum() < half.sum() < 0.8 * whole.sum()
    assert float(whole[landed > 0].mean()) > 0.5  # the clean source changes it ...
    assert float(half[landed > 0].mean()) < 0.03  # ... the covered one does not
    assert not swapped(np.ones_like(covered)).any()  # all covered: the template face stays
