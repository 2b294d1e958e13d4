"""Large faces (full-resolution phone photos) are swapped on a reduced crop and added back."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

import pipeline.classic.engine as classic_engine_module
from pipeline.classic import ClassicEngine
from pipeline.classic.large_faces import LARGE_FACES, reduction, scaled_face, scaled_mesh, swap_reduced
from pipeline.classic.face_geometry import face_size
from pipeline.face import Assignment, Face, SourceFace


def _face(points: NDArray[np.float32]) -> Face:
    kps = tuple((float(x), float(y)) for x, y in points[:5, :2])
    mesh = tuple((float(x), float(y), float(z)) for x, y, z in points)
    return Face(bbox=(100.0, 100.0, 300.0, 300.0), kps=kps, det_score=0.9, landmarks=kps, mesh=mesh)


def test_reduction_keeps_faces_up_to_the_limit_or_the_source_size() -> None:
    limit = LARGE_FACES.face_limit
    assert reduction(limit, 100.0) == 1.0
    assert reduction(2 * limit, 100.0) == pytest.approx(0.5)
    assert reduction(2 * limit, 1.5 * limit) == pytest.approx(0.75)  # a sharper source lifts the limit


def test_scaled_face_and_mesh_move_every_coordinate_into_the_crop() -> None:
    points = np.array([[110, 120, 4], [210, 130, -6], [160, 200, 0], [130, 250, 2], [190, 250, 2]], np.float32)
    face = _face(points)
    moved = scaled_face(face, (100, 100), (0.5, 0.25))
    assert moved.bbox == (0.0, 0.0, 100.0, 50.0)
    assert moved.kps[0] == (5.0, 5.0) and moved.landmarks is not None and moved.landmarks[1] == (55.0, 7.5)
    mesh = scaled_mesh(points, (100, 100), (0.5, 0.25))
    assert mesh[1].tolist() == [55.0, 7.5, -2.25]  # z by the mean of the two scales
    assert moved.mesh is not None and moved.mesh[1] == (55.0, 7.5, -2.25)


def test_only_what_the_reduced_swap_changed_comes_back_at_full_size() -> None:
    rng = np.random.default_rng(7)
    gradient = np.linspace(60, 180, 1600)[None, :, None].repeat(1600, 0).repeat(3, 2)
    image = np.clip(gradient + rng.normal(0, 2, (1600, 1600, 3)), 0, 255).astype(np.uint8)
    ring = np.linspace(0, 2 * np.pi, 478, endpoint=False)
    points = np.stack([800 + 400 * np.cos(ring), 800 + 400 * np.sin(ring), np.zeros_like(ring)], 1).astype(np.float32)
    seen: list[tuple[int, ...]] = []

    def paint_disc(pixels: NDArray[np.uint8], face: Face, mesh: NDArray[np.float32]) -> None:
        seen.append(pixels.shape)
        centre = mesh[:, :2].mean(axis=0)
        cv2.circle(pixels, (int(round(centre[0])), int(round(centre[1]))), int(0.25 * np.ptp(mesh[:, 0])), (250, 10, 10), -1)

    result = image.copy()
    swap_reduced(result, _face(points), points, 0.4, paint_disc)
    assert max(seen[0][:2]) < 0.5 * 1600  # the swap saw a reduced crop
    changed = np.any(result != image, axis=2)
    yy, xx = np.mgrid[:1600, :1600]
    distance = np.hypot(xx - 800, yy - 800)
    assert not changed[distance > 230].any(), "pixels the swap left alone must stay exactly as they were"
    inside = result[distance < 170]
    # The painted disc, scaled back up; the full-size grain finer than the crop stays (noise of sigma 2).
    assert np.abs(np.median(inside, axis=0) - [250, 10, 10]).max() <= 1
    assert np.abs(inside.astype(int) - [250, 10, 10]).max() <= 12


def test_a_large_template_face_swaps_like_the_full_size_swap(
    classic_engine: ClassicEngine,
    astronaut_image: NDArray[np.uint8],
    tom_hanks_image: NDArray[np.uint8],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    head = np.ascontiguousarray(astronaut_image[20:260, 110:350])  # the face is about 93 px wide here
    large = cv2.resize(head, (1920, 1920), interpolation=cv2.INTER_CUBIC)
    [target] = classic_engine.detect(large)
    assert face_size(target.mesh_array()) > LARGE_FACES.face_limit  # type: ignore[arg-type]
    [source_face] = classic_engine.detect(tom_hanks_image)
    source = SourceFace(classic_engine.prepare_source(SourceFace(source_face, tom_hanks_image)), tom_hanks_image)
    reduced = classic_engine.swap(large, [Assignment(target, source)])
    monkeypatch.setattr(classic_engine_module, "reduction", lambda target_size, source_size: 1.0)
    full = classic_engine.swap(large, [Assignment(target, source)])
    assert reduced.shape == large.shape
    moved = np.any(full != large, axis=2)
    assert moved.sum() > 100_000  # the face was swapped
    difference = np.abs(reduced.astype(np.int16) - full.astype(np.int16))[moved]
    assert float(difference.mean()) < 3.0, float(difference.mean())
    assert not np.any(reduced != large, axis=2)[~moved].sum() > 0.02 * moved.sum()
