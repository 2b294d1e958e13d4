"""A bearded target's beard is kept whole or replaced whole, never half (pipeline.classic.regions._whole_beard,
pipeline.classic.occlusion.beard_mask)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from pipeline.classic import ClassicEngine
from pipeline.classic.occlusion import beard_mask
from pipeline.classic.regions import face_parts, lower_face
from pipeline.classic.settings import RegionSettings
from pipeline.face import Assignment, Face, SourceFace

RGB = NDArray[np.uint8]


def _portrait(engine: ClassicEngine, key: str) -> tuple[RGB, Face]:
    from app.bench.sample_portraits import OPENCV_DOC_HINT, load_portrait, opencv_doc_available
    from tests.conftest import require_service

    require_service(opencv_doc_available(), f"the portraits need opencv-doc; {OPENCV_DOC_HINT}")
    image = load_portrait(key)
    return image, engine.detect(image)[0]


def _beard(engine: ClassicEngine, image: RGB, face: Face) -> NDArray[np.float32] | None:
    mesh = face.mesh_array()
    assert mesh is not None
    xy = mesh[:468, :2].astype(np.float32)
    cheeks, _ = face_parts(xy, engine._loaded().mesher.canonical, image.shape[:2], RegionSettings())
    zone, lips = lower_face(xy, image.shape[:2], RegionSettings())
    return beard_mask(image, cheeks, zone, lips)


def test_the_beard_is_found_as_one_region(classic_engine: ClassicEngine, astronaut_image: RGB) -> None:
    image, face = _portrait(classic_engine, "bearded_man")  # a goatee and a moustache
    beard = _beard(classic_engine, image, face)
    assert beard is not None
    points = face.landmarks_array()
    assert points is not None
    chin = points[8] * 0.7 + points[57] * 0.3
    assert beard[int(round(chin[1])), int(round(chin[0]))] > 0.8
    for corner in (48, 54):  # beside each mouth corner, where moustache and goatee meet
        x, y = points[corner]
        assert beard[int(round(y)), int(round(x))] > 0.6
    assert float(beard[: int(points[30, 1])].max()) < 0.05  # nothing above the nose tip
    assert _beard(classic_engine, astronaut_image, classic_engine.detect(astronaut_image)[0]) is None


def test_a_beardless_source_leaves_the_whole_beard(classic_engine: ClassicEngine, astronaut_image: RGB) -> None:
    # Before, the chin part was kept (it reaches the face's edge) and the moustache half replaced by the
    # source's upper lip.
    image, target = _portrait(classic_engine, "bearded_man")
    beard = _beard(classic_engine, image, target)
    assert beard is not None
    source = SourceFace(classic_engine.detect(astronaut_image)[0], astronaut_image)
    result = classic_engine.swap(image, [Assignment(target=target, source=source)])
    changed = np.abs(result.astype(np.int16) - image.astype(np.int16)).max(axis=2) > 12
    assert changed.mean() > 0.05  # the face was swapped ...
    assert float(changed[beard > 0.95].mean()) < 0.05  # ... around the whole beard
