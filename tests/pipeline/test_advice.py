"""Source-photo advice shown at upload (pipeline.advice)."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
from numpy.typing import NDArray

from pipeline.advice import GLASSES_ADVICE, SMALL_FACE_ADVICE, source_advice
from pipeline.classic import ClassicEngine
from tests.pipeline.tone_helpers import grace_hopper_path, read_rgb

RGB = NDArray[np.uint8]


def test_glasses_are_reported(classic_engine: ClassicEngine) -> None:
    image = read_rgb(grace_hopper_path())
    face = classic_engine.detect(image)[0]
    assert source_advice(image, face) == [GLASSES_ADVICE]
    # Engines without dense landmarks (insightface) give only the 5 key points: still found.
    assert source_advice(image, replace(face, landmarks=None)) == [GLASSES_ADVICE]


def test_clean_photos_get_no_advice(classic_engine: ClassicEngine, astronaut_image: RGB, t1_image: RGB) -> None:
    for image in (astronaut_image, t1_image):
        for face in classic_engine.detect(image):
            assert source_advice(image, face) == []


def test_a_small_face_is_reported(classic_engine: ClassicEngine, astronaut_image: RGB) -> None:
    small = cv2.resize(astronaut_image, None, fx=0.55, fy=0.55, interpolation=cv2.INTER_AREA)
    faces = classic_engine.detect(small)
    assert faces, "the downscaled astronaut is still detected"
    assert source_advice(small, faces[0]) == [SMALL_FACE_ADVICE]
