"""Glasses detection on a labelled check set: package portraits, t1.jpg's faces, and variants made in code
(dark brows, a fringe to the brows, deep eye shadows, a grimace, heads turned 45 deg in depth).

The swap inpaints a source's frames only when it is sure: a line across the bridge AND a rim at each
eye. Strong brows, fringes, shadows and grimaces once read as glasses and lost their eyes.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from pipeline.advice import source_advice
from pipeline.classic import ClassicEngine
from pipeline.classic.glasses import frame_mask, eye_geometry, has_glasses, REMOVED_FRAMES
from pipeline.classic.source import prepare_source
from pipeline.face import SourceFace
from tests.pipeline.face_variants import VARIANTS, GlassesCase, turn_head

RGB = NDArray[np.uint8]
BARE: tuple[str, ...] = ("bearded_man", "smiling_man", "blonde_woman", "biden", "obama2")
T1_FACES = (2, 3, 4)  # t1.jpg's faces that once read as glasses with a fringe or dark brows


@pytest.fixture(scope="module")
def check_set(classic_engine: ClassicEngine, t1_image: RGB) -> list[GlassesCase]:
    from pipeline.intake import read_image_file
    from app.bench.sample_portraits import OPENCV_DOC_HINT, load_portrait, opencv_doc_available
    from tests.conftest import require_service
    from tests.pipeline.face_variants import _face_crop, face_recognition_dir

    require_service(opencv_doc_available(), f"the portraits need opencv-doc; {OPENCV_DOC_HINT}")
    bases = [(key, load_portrait(key), True) for key in ("glasses_man", "grace_hopper")]
    for key in BARE:
        path = face_recognition_dir() / f"{key}.jpg"
        bases.append((key, read_image_file(str(path)).array if path.is_file() else load_portrait(key), False))
    faces = classic_engine.detect(t1_image)
    for index in T1_FACES:
        mesh = faces[index].mesh_array()
        assert mesh is not None
        bases.append((f"t1_face{index}", _face_crop(t1_image, mesh)[0], False))
    cases = []
    for name, image, glasses in bases:
        mesh = classic_engine.detect(image)[0].mesh_array()
        assert mesh is not None
        cases.append(GlassesCase(name, image, glasses))
        for variant, change in VARIANTS.items():
            if not glasses or variant == "shadows":
                cases.append(GlassesCase(f"{name}/{variant}", change(image, mesh), glasses))
    return cases


def _found(engine: ClassicEngine, image: RGB) -> bool | None:
    faces = engine.detect(image)
    if not faces:
        return None
    face = max(faces, key=lambda f: f.prominence)
    return engine.wears_glasses(SourceFace(engine.prepare_source(SourceFace(face, image)), image))


def test_precision_and_recall_on_the_check_set(classic_engine: ClassicEngine, check_set: list[GlassesCase]) -> None:
    found = {case.name: _found(classic_engine, case.image) for case in check_set}
    false_positives = [c.name for c in check_set if found[c.name] and not c.glasses]
    misses = [c.name for c in check_set if found[c.name] is False and c.glasses]
    assert not false_positives, false_positives  # precision 1.0: nobody bare loses their eyes
    assert not misses, misses  # recall 1.0 on frontal glasses, deep shadows included


def test_the_note_says_what_the_swap_does(classic_engine: ClassicEngine, check_set: list[GlassesCase]) -> None:
    canonical = classic_engine._loaded().mesher.canonical
    for case in check_set[::3]:
        faces = classic_engine.detect(case.image)
        face = max(faces, key=lambda f: f.prominence)
        mesh = face.mesh_array()
        assert mesh is not None
        noted = bool(source_advice(case.image, face, wears_glasses=classic_engine.wears_glasses))
        assert noted == prepare_source(case.image, mesh, canonical).had_glasses, case.name


def test_turned_thin_frames_are_removed_whole_or_not_at_all(classic_engine: ClassicEngine) -> None:
    from app.bench.sample_portraits import OPENCV_DOC_HINT, load_portrait, opencv_doc_available
    from tests.conftest import require_service

    require_service(opencv_doc_available(), f"the portraits need opencv-doc; {OPENCV_DOC_HINT}")
    canonical = classic_engine._loaded().mesher.canonical
    image = load_portrait("glasses_man")
    mesh = classic_engine.detect(image)[0].mesh_array()
    assert mesh is not None
    for degrees in (-45.0, 45.0):
        turned, _ = turn_head(image, mesh, canonical.triangles, degrees)
        turned_mesh = classic_engine.detect(turned)[0].mesh_array()
        assert turned_mesh is not None
        if not has_glasses(turned, turned_mesh):
            continue  # kept whole: a frame on the result, never half of one
        frames = frame_mask(turned, turned_mesh, search=REMOVED_FRAMES) > 0.5
        geometry = eye_geometry(turned_mesh)
        for outer, inner in ((geometry.right_outer, geometry.right_inner), (geometry.left_outer, geometry.left_inner)):
            centre = ((outer + inner) / 2.0).astype(int)
            reach = int(0.45 * geometry.eye_distance)
            assert frames[centre[1] : centre[1] + reach, centre[0]].any(), degrees  # a rim below each eye


def test_thin_frames_with_a_faint_bridge_are_found(classic_engine: ClassicEngine) -> None:
    """Thin frames drawn on ten bare package faces: dark ones on all, light grey ones (a faint bridge on
    light skin) on most. The bare faces themselves stay bare."""
    from pipeline.intake import read_image_file
    from app.bench.sample_portraits import OPENCV_DOC_HINT, load_portrait, opencv_doc_available
    from tests.conftest import require_service
    from tests.pipeline.face_variants import BARE_PORTRAITS, FACE_RECOGNITION_IMAGES, faint_frames, face_recognition_dir

    require_service(opencv_doc_available(), f"the portraits need opencv-doc; {OPENCV_DOC_HINT}")
    images = [load_portrait(key) for key in BARE_PORTRAITS]
    images += [read_image_file(str(face_recognition_dir() / name)).array for name in FACE_RECOGNITION_IMAGES]
    found = {"bare": 0, "dark": 0, "grey": 0}
    for image in images:
        mesh = classic_engine.detect(image)[0].mesh_array()
        assert mesh is not None
        found["bare"] += has_glasses(image, mesh)
        for name, colour in (("dark", (70, 66, 60)), ("grey", (120, 118, 115))):
            framed = faint_frames(image, mesh, colour)
            framed_mesh = max(classic_engine.detect(framed), key=lambda face: face.prominence).mesh_array()
            assert framed_mesh is not None
            found[name] += has_glasses(framed, framed_mesh)
    assert found["bare"] == 0
    assert found["dark"] == len(images), found
    assert found["grey"] >= 7, found
