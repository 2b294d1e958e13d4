"""dlib's face recognition ResNet: 128-d descriptors to measure identity distance.

Used by the quality check as a recogniser independent of either engine's swapper.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import dlib
import numpy as np
from numpy.typing import NDArray

from pipeline.classic.detector import Points, to_dlib_rect
from pipeline.errors import ModelUnavailable

SAME_PERSON_BELOW: Final = 0.6  # dlib's documented decision threshold on descriptor distance


class DlibRecogniser:
    def __init__(self, model_path: Path) -> None:
        try:
            self._model = dlib.face_recognition_model_v1(str(model_path))
        except RuntimeError as error:
            raise ModelUnavailable(f"cannot load recognition model {model_path.name}") from error

    def descriptor(
        self, image: NDArray[np.uint8], box: tuple[float, float, float, float], landmarks: Points
    ) -> NDArray[np.float64]:
        parts = dlib.points()
        for x, y in landmarks:
            parts.append(dlib.point(int(round(float(x))), int(round(float(y)))))
        shape = dlib.full_object_detection(to_dlib_rect(box), parts)
        return np.asarray(
            self._model.compute_face_descriptor(np.ascontiguousarray(image), shape), dtype=np.float64
        )


def descriptor_distance(first: NDArray[np.float64], second: NDArray[np.float64]) -> float:
    return float(np.linalg.norm(first - second))
