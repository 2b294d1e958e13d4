"""Source-photo advice shown at upload (pipeline.advice): the engine's own glasses check, a small face."""

from __future__ import annotations

import ast
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

import pipeline.advice
from pipeline.advice import GLASSES_ADVICE, SMALL_FACE_ADVICE, glasses_advice, source_advice
from pipeline.classic import ClassicEngine
from tests.pipeline.tone_helpers import grace_hopper_path, read_rgb

RGB = NDArray[np.uint8]


def test_glasses_are_reported_through_the_engine_check(classic_engine: ClassicEngine) -> None:
    image = read_rgb(grace_hopper_path())
    face = classic_engine.detect(image)[0]
    assert source_advice(image, face, wears_glasses=classic_engine.wears_glasses) == [GLASSES_ADVICE]
    # The note names the photo it means.
    assert source_advice(image, face, wears_glasses=classic_engine.wears_glasses, role="wife") == [
        "glasses on the wife photo: results look best without them"
    ]
    assert glasses_advice("husband") == "glasses on the husband photo: results look best without them"
    # Without an engine check the engine-neutral root says nothing about glasses.
    assert source_advice(image, face) == []


def test_clean_photos_get_no_advice(classic_engine: ClassicEngine, astronaut_image: RGB, t1_image: RGB) -> None:
    for image in (astronaut_image, t1_image):
        for face in classic_engine.detect(image):
            assert source_advice(image, face, wears_glasses=classic_engine.wears_glasses) == []


def test_a_small_face_is_reported(classic_engine: ClassicEngine, astronaut_image: RGB) -> None:
    small = cv2.resize(astronaut_image, None, fx=0.55, fy=0.55, interpolation=cv2.INTER_AREA)
    faces = classic_engine.detect(small)
    assert faces, "the downscaled astronaut is still detected"
    assert source_advice(small, faces[0], wears_glasses=classic_engine.wears_glasses) == [SMALL_FACE_ADVICE]
    assert source_advice(small, faces[0], role="husband") == [
        "the face on the husband photo is small: a closer photo gives a sharper result"
    ]


def test_the_advice_module_imports_no_engine() -> None:
    tree = ast.parse(Path(pipeline.advice.__file__).read_text())
    modules = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    modules += [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    assert not [m for m in modules if m.startswith(("pipeline.classic", "pipeline.insight"))], modules
